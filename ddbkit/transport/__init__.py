"""Transports: send one wire-format DynamoDB request, return the wire-format response.

* :mod:`ddbkit.transport.botocore` - :class:`BotocoreTransport`, a boto3 low-level client (the reference);
* :mod:`ddbkit.transport.aio_botocore` - :class:`AioBotocoreTransport`, its aioboto3 twin;
* :mod:`ddbkit.transport.fast` - :class:`~ddbkit.transport.fast.FastTransport` (urllib3) and
  :class:`~ddbkit.transport.fast.AsyncFastTransport` (aiohttp): the data plane spoken directly;
* :mod:`ddbkit.transport.wire` - the wire protocol those two share (settings, signing, parsing);
* :mod:`ddbkit.transport.sigv4` - SigV4 for DynamoDB, byte-for-byte botocore's;
* :mod:`ddbkit.transport.dax` - DAX through amazon-dax-client;
* :mod:`ddbkit.transport.errors` - the error mapping every transport shares.

:func:`make_transport` / :func:`make_async_transport` pick one by name. ``ddbkit.table`` and ``ddbkit.aio``
import from here, never the other way round. The fast transports (orjson, urllib3/aiohttp) are imported
only when chosen.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ddbkit.core.engine import Transport
    from ddbkit.transport.aio_botocore import AioBotocoreTransport as AioBotocoreTransport
    from ddbkit.transport.aio_botocore import AsyncTransport as AsyncTransport
    from ddbkit.transport.botocore import BotocoreTransport as BotocoreTransport
    from ddbkit.transport.botocore import client_config as client_config
    from ddbkit.transport.botocore import snake_case as snake_case

# Loaded on first use (PEP 562), so importing one submodule - ddbkit.accelerate needs only sigv4 - does not
# import both botocore transports, ddbkit.errors and the codec on a Lambda cold start.
_LAZY = {"AioBotocoreTransport": "aio_botocore", "AsyncTransport": "aio_botocore",
         "BotocoreTransport": "botocore", "client_config": "botocore", "snake_case": "botocore"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ddbkit.transport' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"ddbkit.transport.{module}"), name)
    globals()[name] = value
    return value

__all__ = ["BotocoreTransport", "AioBotocoreTransport", "AsyncTransport", "client_config", "snake_case",
           "make_transport", "make_async_transport", "DEFAULT_TRANSPORT"]

# The transport when none is chosen (argument or DDBKIT_TRANSPORT): the fast data-plane path, since every
# integration test passes on it against moto server and DynamoDB Local (docs/performance.md). Explicit
# client= still means botocore, and under moto's in-process mock_aws the fast transport hands every call
# to botocore, so mocked tests never reach a real endpoint.
DEFAULT_TRANSPORT = "fast"


def _chosen(transport: Any, client: Any = None) -> Any:
    if transport is None:
        return "botocore" if client is not None else (os.environ.get("DDBKIT_TRANSPORT", "").strip().lower()
                                                      or DEFAULT_TRANSPORT)
    return transport


def make_transport(transport: Transport | str | None, *, session: Any = None, region_name: str | None = None,
                   endpoint_url: str | None = None, client: Any = None, config: Any = None,
                   verify: bool | str | None = None) -> Transport:
    """The transport for ``transport``: an object, ``"fast"`` or ``"botocore"``.

    None means ``DDBKIT_TRANSPORT`` (``fast``/``botocore``) if set, else :data:`DEFAULT_TRANSPORT`. An
    explicit boto3 ``client`` always means botocore: it may be patched (moto's ``mock_aws``) or carry
    settings the fast transport would not see. ``config`` is a :class:`botocore.config.Config` (timeouts,
    pool size, proxies, app id) honoured by both transports; ``verify`` is False or a CA bundle path, as
    boto3's ``client(verify=...)``.
    """
    transport = _chosen(transport, client)
    if transport == "botocore":
        from ddbkit.transport.botocore import BotocoreTransport

        return BotocoreTransport(client, session=session, region_name=region_name, endpoint_url=endpoint_url,
                                 config=config, verify=verify)
    if transport == "fast":
        if client is not None:
            raise ValueError("client= is a boto3 client, used with transport='botocore'; the fast transport "
                             "takes session=/region_name=/endpoint_url=")
        from ddbkit.transport.fast import FastTransport

        return FastTransport(session=session, region_name=region_name, endpoint_url=endpoint_url, config=config,
                             verify=verify)
    if isinstance(transport, str):
        raise ValueError(f"unknown transport {transport!r}: use 'botocore', 'fast' or a Transport object")
    result: Transport = transport
    return result


def make_async_transport(transport: AsyncTransport | str | None, *, session: Any = None,
                         region_name: str | None = None, endpoint_url: str | None = None,
                         config: Any = None, verify: bool | str | None = None) -> AsyncTransport:
    """The async transport for ``transport``: an object, ``"fast"`` (aiohttp) or ``"botocore"`` (aioboto3);
    None means ``DDBKIT_TRANSPORT`` if set, else :data:`DEFAULT_TRANSPORT`."""
    transport = _chosen(transport)
    if transport == "botocore":
        from ddbkit.transport.aio_botocore import AioBotocoreTransport

        return AioBotocoreTransport(session=session, region_name=region_name, endpoint_url=endpoint_url,
                                    config=config, verify=verify)
    if transport == "fast":
        from ddbkit.transport.fast import AsyncFastTransport

        return AsyncFastTransport(session=session, region_name=region_name, endpoint_url=endpoint_url,
                                  config=config, verify=verify)
    if isinstance(transport, str):
        raise ValueError(f"unknown transport {transport!r}: use 'botocore', 'fast' or an AsyncTransport object")
    result: AsyncTransport = transport
    return result
