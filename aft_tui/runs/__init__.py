"""Running trials: which interpreter, the subprocess launcher, metrics parsing and outputs.

Submodules are imported where they are used; this package imports nothing so `aft --help`
stays fast.
"""
