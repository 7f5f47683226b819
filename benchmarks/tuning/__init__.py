"""The tuning benchmark: how well AFT's strategies and pruners tune real scripts (see __main__)."""
