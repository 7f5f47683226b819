"""Trials on a Ray cluster (`--cluster`): the plan (plan.py), the connection (connect.py), what
ships with a trial (bundle.py), the driver side (executor.py) and the actor on the node (worker.py).
Imported only when a session uses a cluster."""
