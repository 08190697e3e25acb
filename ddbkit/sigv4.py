"""Deprecated location: SigV4 lives in :mod:`ddbkit.transport.sigv4` (this shim stays one release)."""

from ddbkit.transport.sigv4 import *  # noqa: F403
from ddbkit.transport.sigv4 import __all__ as __all__
