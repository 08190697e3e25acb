"""Deprecated location: the fast transport lives in :mod:`ddbkit.transport.fast` (this shim stays one release)."""

from ddbkit.transport.fast import *  # noqa: F403
from ddbkit.transport.fast import __all__ as __all__
