"""AFT (AutoFineTuner): tunes a working training script from a terminal.

Importing this package must stay cheap: no torch, transformers, litellm, peft or optuna
at import time (the CLI's start-up budget depends on it).
"""

__version__ = "0.1.0"
