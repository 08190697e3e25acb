"""Operational tools: the capacity monitor (+ EMF usage publishing) and backup / export / restore / copy
with the backup Lambda entrypoint."""
