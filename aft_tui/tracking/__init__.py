"""Experiment trackers AFT can mirror its trials into (MLflow), for people who already look there.

Trackers are engine subscribers: they watch the event stream and never steer the tuning loop.
Their libraries are imported only once a tracker is switched on.
"""
