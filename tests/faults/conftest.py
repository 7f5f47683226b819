"""Fault-injection tests: AFT killed, run concurrently, fed secrets, corrupt files and links.

Each test drives the real `aft` command (a subprocess) on a real git project in a temporary
folder, injects one fault, and checks what a user would check afterwards: nothing left running,
no record lost, no secret written anywhere, one clear sentence instead of a traceback.
"""
