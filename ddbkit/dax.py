"""Deprecated location: the DAX transport lives in :mod:`ddbkit.transport.dax` (this shim stays one release)."""

from ddbkit.transport.dax import *  # noqa: F403
from ddbkit.transport.dax import __all__ as __all__
