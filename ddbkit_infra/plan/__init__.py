"""Plan: read the live state, diff it against the effective config, render the changes."""
