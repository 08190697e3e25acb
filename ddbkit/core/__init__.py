"""The core layer: the sans-I/O engine and drivers, table operations, batch, transactions, codec,
expressions, keys, cursors, retry, usage and region resolution. It imports nothing above it
(tests/test_architecture.py)."""
