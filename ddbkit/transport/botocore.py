"""Transports: send one wire-format DynamoDB request, return the wire-format response.

:class:`BotocoreTransport` uses a boto3 low-level client with botocore's parameter validation and its
own retries turned off: ddbkit validates requests itself (before sending, with better messages) and
retries through its :class:`~ddbkit.core.retry.RetryPolicy`, so the two layers never multiply attempts.
Errors become ddbkit exceptions through :func:`ddbkit.transport.errors.error_from_response`, the mapping every
transport shares; no region, no credentials and connection failures become :class:`~ddbkit.errors.NoRegionError`,
:class:`~ddbkit.errors.NoCredentialsError` and :class:`~ddbkit.errors.ConnectionFailed` (naming the endpoint).

With its retries off, botocore checks DynamoDB's ``x-amz-crc32`` only to decide a retry it will not make: a
cut or corrupted reply would be parsed as ``{}`` and returned as a success (a GetItem of an existing item
returning nothing, a BatchWriteItem losing its UnprocessedItems, a Query ending without a cursor).
:func:`install_reply_check` registers an ``after-call`` handler on every client ddbkit uses that checks the
raw body (CRC32, Content-Length, JSON) and raises :class:`~ddbkit.errors.CorruptResponse`, which is retried.
"""

from __future__ import annotations

import re
from typing import Any

from ddbkit.errors import NoCredentialsError, NoRegionError, connection_failed, not_a_dynamodb_reply, verify_reply
from ddbkit.transport.errors import error_from_response
from ddbkit.transport.scrub import scrubbed, scrubbed_cause

__all__ = ["BotocoreTransport", "snake_case", "client_config", "client_location", "merged_config", "install_reply_check"]

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_METHODS: dict[str, str] = {}


def client_location(client: Any) -> tuple[str | None, str | None]:
    """The endpoint URL and region of a botocore-shaped client, for error messages, or None for each.

    Read defensively: a DAX client (amazondax) or a test double has no botocore ``meta``, and an
    AttributeError raised while building an error must not pass for "this client lacks the operation"
    (DaxTransport would then silently send the call to DynamoDB instead)."""
    meta = getattr(client, "meta", None)
    endpoint, region = getattr(meta, "endpoint_url", None), getattr(meta, "region_name", None)
    return (endpoint if isinstance(endpoint, str) else None, region if isinstance(region, str) else None)


def snake_case(operation: str) -> str:
    """``BatchWriteItem`` -> ``batch_write_item`` (boto3 method names), cached."""
    name = _METHODS.get(operation)
    if name is None:
        name = _METHODS[operation] = _CAMEL.sub("_", operation).lower()
    return name


def client_config(max_pool_connections: int = 32, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                  **extra: Any) -> Any:
    """botocore Config for ddbkit's clients: no botocore retries, no parameter validation."""
    from botocore.config import Config

    return Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"},
                  max_pool_connections=max_pool_connections, connect_timeout=connect_timeout,
                  read_timeout=read_timeout, tcp_keepalive=True, **extra)


def merged_config(config: Any = None) -> Any:
    """ddbkit's client config with the user's ``botocore.config.Config`` over it; retries and parameter
    validation stay ddbkit's (one retry layer, validation before sending)."""
    from botocore.config import Config

    base = client_config()
    if config is None:
        return base
    return base.merge(config).merge(Config(parameter_validation=False,
                                           retries={"total_max_attempts": 1, "mode": "standard"}))


class BotocoreTransport:
    """A transport on a boto3 ``dynamodb`` client (given, or built from session/region/endpoint/config).

    ``session`` is a boto3 Session or a botocore Session (default ``boto3.DEFAULT_SESSION``); ``config`` a
    :class:`botocore.config.Config` merged over ddbkit's defaults (botocore's retries and parameter
    validation stay off: ddbkit validates and retries). After ``os.fork()`` the child drops the inherited
    connections of the client.
    """

    def __init__(self, client: Any = None, *, session: Any = None, region_name: str | None = None,
                 endpoint_url: str | None = None, config: Any = None, verify: bool | str | None = None) -> None:
        if client is None:
            import boto3

            # the default session shares its loaded models with the caller's own boto3 use
            if session is None:
                if boto3.DEFAULT_SESSION is None:
                    boto3.setup_default_session()
                session = boto3.DEFAULT_SESSION
            from botocore.exceptions import NoRegionError as BotoNoRegionError

            from ddbkit.core.region import resolve_region

            create = getattr(session, "client", None) or session.create_client  # boto3 / botocore Session
            region = resolve_region(region_name, session)  # AWS_REGION too (boto3 reads AWS_DEFAULT_REGION)
            try:
                client = create("dynamodb", region_name=region, endpoint_url=endpoint_url,
                                config=merged_config(config), verify=verify)
            except BotoNoRegionError:
                raise NoRegionError() from None
        install_reply_check(client)  # a given client too: ddbkit must not read a damaged reply as a success
        self.client = client
        self._methods: dict[str, Any] = {}
        from ddbkit.transport.wire import track

        track(self)

    def _forked(self) -> None:
        # in a forked child: drop the inherited pooled connections (their pools are kept referenced, never
        # closed here: closing could disturb the parent's connections)
        http = getattr(getattr(self.client, "_endpoint", None), "http_session", None)
        manager = getattr(http, "_manager", None)
        pools = getattr(manager, "pools", None)
        if pools is not None and hasattr(pools, "_container"):
            from ddbkit.transport.wire import abandon

            abandon(dict(pools._container))
            pools._container.clear()  # urllib3's RecentlyUsedContainer: the child makes new pools
        proxies = getattr(http, "_proxy_managers", None)
        if isinstance(proxies, dict) and proxies:
            from ddbkit.transport.wire import abandon

            abandon(dict(proxies))
            proxies.clear()

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        method = self._methods.get(operation)
        if method is None:
            method = self._methods[operation] = getattr(self.client, snake_case(operation))
        from botocore.exceptions import ClientError
        from botocore.exceptions import NoCredentialsError as BotoNoCredentialsError

        failure: BaseException | None = None
        try:
            with scrubbed():  # botocore's own records of this call: no bodies, no proxy credentials
                response: dict[str, Any] = method(**request)
        except ClientError as err:
            error = err.response.get("Error", {})
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            mapped = error_from_response(str(error.get("Code", "Unknown")), str(error.get("Message", "")),
                                         operation=operation, status=status, response=err.response)
            # a reply without a DynamoDB error code (an HTML page): never its body; name region and endpoint
            raise not_a_dynamodb_reply(mapped, *client_location(self.client)) from None
        except BotoNoCredentialsError:
            raise NoCredentialsError() from None
        except _connection_errors() as err:
            failure = err
        if failure is not None:  # raised outside the except: the library's chain may quote a proxy password
            raise connection_failed(failure, operation, *client_location(self.client)) from scrubbed_cause(failure)
        response.pop("ResponseMetadata", None)
        return response

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()


_CONN: tuple[type[BaseException], ...] | None = None


def _connection_errors() -> tuple[type[BaseException], ...]:
    global _CONN
    if _CONN is None:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError

        _CONN = (BotoConnectionError, HTTPClientError)
    return _CONN


def _reply_parts(http_response: Any) -> tuple[int, str | None, str | None]:
    headers = http_response.headers
    encoding = str(headers.get("content-encoding") or "identity").lower()
    length = headers.get("content-length") if encoding == "identity" else None  # decoded bodies differ in length
    return int(http_response.status_code), headers.get("x-amz-crc32"), length


def _check_reply(http_response: Any, model: Any, **_: Any) -> None:
    if getattr(http_response, "raw", None) is None:  # a stubbed reply (botocore's Stubber): no body was read
        return
    status, crc, length = _reply_parts(http_response)
    verify_reply(model.name, status, http_response.content, crc, length)


async def _check_reply_async(http_response: Any, model: Any, **_: Any) -> None:
    if getattr(http_response, "raw", None) is None:
        return
    status, crc, length = _reply_parts(http_response)
    verify_reply(model.name, status, await http_response.content, crc, length)


def install_reply_check(client: Any) -> None:
    """Make a botocore (or aiobotocore) client raise :class:`CorruptResponse` for a damaged reply.

    botocore checks DynamoDB's CRC32 only to decide a retry: with retries off (ddbkit's clients) or
    exhausted, or for another service (dynamodbstreams), a cut or corrupted body is parsed as ``{}`` and
    returned as a success. This ``after-call`` handler runs :func:`verify_reply` on the raw body first.
    Idempotent (registered under a unique id); objects that are not botocore clients (test doubles) are left alone.
    """
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is None:
        return
    emitter = getattr(events, "_emitter", events)  # botocore wraps the emitter in an EventAliaser
    is_async = type(emitter).__module__.startswith("aiobotocore")
    events.register_first("after-call", _check_reply_async if is_async else _check_reply,
                          unique_id="ddbkit-verify-reply")
