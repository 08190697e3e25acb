"""Data-modeling patterns on top of :class:`ddbkit.Table`: single-table design, time series, sessions.

Import the one you need (``from ddbkit.patterns.single_table import SingleTable``); this package
imports nothing at import time.
"""
