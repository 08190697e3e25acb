"""The asyncio botocore transport: an aioboto3 ``dynamodb`` client behind :class:`AsyncTransport`.

aioboto3 is imported when the first request is sent. Errors map through the same
:func:`ddbkit.transport.errors.error_from_response` as every other transport, and every reply is checked
(:func:`~ddbkit.transport.botocore.install_reply_check`) before aiobotocore's parsed ``{}`` of a damaged
body could be taken for a success.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ddbkit.core.engine import AsyncTransport as AsyncTransport
from ddbkit.errors import NoCredentialsError, NoRegionError, connection_failed, not_a_dynamodb_reply
from ddbkit.transport.botocore import client_location, install_reply_check, merged_config, snake_case
from ddbkit.transport.errors import error_from_response
from ddbkit.transport.scrub import scrubbed, scrubbed_cause

__all__ = ["AsyncTransport", "AioBotocoreTransport"]

#: aioboto3 is its own extra, out of ``async`` and ``all``: it pins a narrow botocore window (docs/installation.md).
AIOBOTO3_MISSING = ("the async botocore transport (AsyncTable(transport='botocore')) needs aioboto3: "
                    "pip install 'ddbkit[aioboto3]' (it pins its own botocore), or use transport='fast' "
                    "with pip install 'ddbkit[async]'")


class AioBotocoreTransport:
    """A transport on an aioboto3 ``dynamodb`` client (created on first use, closed by :meth:`close`)."""

    def __init__(self, *, session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 config: Any = None, verify: bool | str | None = None) -> None:
        self._session = session
        self._kwargs = {"region_name": region_name, "endpoint_url": endpoint_url, "config": config,
                        "verify": verify}
        self._cm: Any = None
        self._client: Any = None
        self._lock = asyncio.Lock()
        from ddbkit.transport.wire import track

        track(self)

    def _forked(self) -> None:
        # in a forked child: forget the parent's client and its connections (an event loop does not survive
        # a fork either); a new client is made on the next call
        from ddbkit.transport.wire import abandon

        abandon(self._cm, self._client)
        self._cm = self._client = None
        self._lock = asyncio.Lock()

    async def _get_client(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        import aioboto3
                    except ImportError:
                        raise ImportError(AIOBOTO3_MISSING) from None
                    from botocore.exceptions import NoRegionError as BotoNoRegionError

                    session = self._session or _default_aio_session(aioboto3)
                    kwargs = dict(self._kwargs)
                    kwargs["config"] = merged_config(kwargs["config"])
                    from ddbkit.core.region import resolve_region

                    kwargs["region_name"] = resolve_region(kwargs["region_name"], session)
                    cm = session.client("dynamodb", **kwargs)
                    try:
                        client = await cm.__aenter__()
                    except BotoNoRegionError:
                        raise NoRegionError() from None
                    install_reply_check(client)
                    _never_follow_redirects(client)
                    self._cm, self._client = cm, client
        return self._client

    async def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        client = await self._get_client()
        from botocore.exceptions import ClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
        from botocore.exceptions import NoCredentialsError as BotoNoCredentialsError

        failure: BaseException | None = None
        try:
            with scrubbed():  # botocore's own records of this call: no bodies, no proxy credentials
                response: dict[str, Any] = await getattr(client, snake_case(operation))(**request)
        except ClientError as err:
            error = err.response.get("Error", {})
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            mapped = error_from_response(str(error.get("Code", "Unknown")), str(error.get("Message", "")),
                                         operation=operation, status=status, response=err.response)
            # a reply without a DynamoDB error code (an HTML page): never its body; name region and endpoint
            raise not_a_dynamodb_reply(mapped, *client_location(client)) from None
        except BotoNoCredentialsError:
            raise NoCredentialsError() from None
        except (BotoConnectionError, HTTPClientError, asyncio.TimeoutError) as err:
            failure = err
        if failure is not None:  # raised outside the except: aiohttp's ClientHttpProxyError quotes the proxy URL
            raise connection_failed(failure, operation, *client_location(client)) from scrubbed_cause(failure)
        response.pop("ResponseMetadata", None)
        return response

    async def close(self) -> None:
        if self._cm is not None:
            cm, self._cm, self._client = self._cm, None, None
            await cm.__aexit__(None, None, None)




def _default_aio_session(aioboto3: Any) -> Any:
    """aioboto3 has no default session: follow boto3's (``boto3.setup_default_session(profile_name=...,
    region_name=...)``) when one was set up, so both clients sign as the same identity."""
    import boto3

    default = boto3.DEFAULT_SESSION
    if default is None:
        return aioboto3.Session()
    bs = default._session
    return aioboto3.Session(profile_name=bs.profile if bs.get_config_variable("profile") else None,
                            region_name=default.region_name)


class _NoRedirects:
    """An aiohttp ClientSession whose requests never follow redirects."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["allow_redirects"] = False
        return self._session.request(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def _never_follow_redirects(client: Any) -> None:
    """aiobotocore sends with aiohttp's default ``allow_redirects=True``: a 307 would re-POST the body and
    the security token to another host and report its 200 as success. Make every request of ``client``
    not follow redirects (a 3xx then is an error, as with botocore)."""
    http = getattr(getattr(client, "_endpoint", None), "http_session", None)
    get_session = getattr(http, "_get_session", None)
    if get_session is None:  # pragma: no cover - another aiobotocore layout
        return

    async def no_redirects(proxy_url: Any) -> Any:
        return _NoRedirects(await get_session(proxy_url))

    http._get_session = no_redirects  # type: ignore[union-attr]  # aiobotocore's http session attribute is typed Optional; set after creation
