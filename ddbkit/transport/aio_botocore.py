"""The asyncio botocore transport: an aioboto3 ``dynamodb`` client behind :class:`AsyncTransport`.

aioboto3 is imported when the first request is sent. Errors map through the same
:func:`ddbkit.transport.errors.error_from_response` as every other transport, and every reply is checked
(:func:`~ddbkit.transport.botocore.install_reply_check`) before aiobotocore's parsed ``{}`` of a damaged
body could be taken for a success.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from ddbkit.errors import NoCredentialsError, NoRegionError, connection_failed
from ddbkit.transport.botocore import client_config, install_reply_check, snake_case
from ddbkit.transport.errors import error_from_response

__all__ = ["AsyncTransport", "AioBotocoreTransport"]


class AsyncTransport(Protocol):
    async def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class AioBotocoreTransport:
    """A transport on an aioboto3 ``dynamodb`` client (created on first use, closed by :meth:`close`)."""

    def __init__(self, *, session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 config: Any = None) -> None:
        self._session = session
        self._kwargs = {"region_name": region_name, "endpoint_url": endpoint_url, "config": config}
        self._cm: Any = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def _get_client(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    import aioboto3
                    from botocore.exceptions import NoRegionError as BotoNoRegionError

                    session = self._session or aioboto3.Session()
                    kwargs = dict(self._kwargs)
                    kwargs["config"] = kwargs["config"] or client_config()
                    cm = session.client("dynamodb", **kwargs)
                    try:
                        client = await cm.__aenter__()
                    except BotoNoRegionError:
                        raise NoRegionError() from None
                    install_reply_check(client)
                    self._cm, self._client = cm, client
        return self._client

    async def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        client = await self._get_client()
        from botocore.exceptions import ClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
        from botocore.exceptions import NoCredentialsError as BotoNoCredentialsError

        try:
            response: dict[str, Any] = await getattr(client, snake_case(operation))(**request)
        except ClientError as err:
            error = err.response.get("Error", {})
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise error_from_response(str(error.get("Code", "Unknown")), str(error.get("Message", "")),
                                      operation=operation, status=status, response=err.response) from None
        except BotoNoCredentialsError:
            raise NoCredentialsError() from None
        except (BotoConnectionError, HTTPClientError, asyncio.TimeoutError) as err:
            raise connection_failed(err, operation, client.meta.endpoint_url) from err
        response.pop("ResponseMetadata", None)
        return response

    async def close(self) -> None:
        if self._cm is not None:
            cm, self._cm, self._client = self._cm, None, None
            await cm.__aexit__(None, None, None)


