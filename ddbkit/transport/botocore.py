"""Transports: send one wire-format DynamoDB request, return the wire-format response.

:class:`BotocoreTransport` uses a boto3 low-level client with botocore's parameter validation and its
own retries turned off: ddbkit validates requests itself (before sending, with better messages) and
retries through its :class:`~ddbkit.retry.RetryPolicy`, so the two layers never multiply attempts.
Errors become ddbkit exceptions through :func:`ddbkit.transport.errors.error_from_response`, the mapping every
transport shares.
"""

from __future__ import annotations

import re
from typing import Any

from ddbkit.errors import ConnectionFailed
from ddbkit.transport.errors import error_from_response

__all__ = ["BotocoreTransport", "snake_case", "client_config"]

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_METHODS: dict[str, str] = {}


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


class BotocoreTransport:
    """A transport on a boto3 ``dynamodb`` client (given, or built from session/region/endpoint)."""

    def __init__(self, client: Any = None, *, session: Any = None, region_name: str | None = None,
                 endpoint_url: str | None = None, config: Any = None) -> None:
        if client is None:
            import boto3

            # the default session shares its loaded models with the caller's own boto3 use
            if session is None:
                if boto3.DEFAULT_SESSION is None:
                    boto3.setup_default_session()
                session = boto3.DEFAULT_SESSION
            client = session.client("dynamodb", region_name=region_name, endpoint_url=endpoint_url,
                                    config=config or client_config())
        self.client = client
        self._methods: dict[str, Any] = {}

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        method = self._methods.get(operation)
        if method is None:
            method = self._methods[operation] = getattr(self.client, snake_case(operation))
        from botocore.exceptions import ClientError

        try:
            response: dict[str, Any] = method(**request)
        except ClientError as err:
            error = err.response.get("Error", {})
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise error_from_response(str(error.get("Code", "Unknown")), str(error.get("Message", "")),
                                      operation=operation, status=status, response=err.response) from None
        except _connection_errors() as err:
            raise ConnectionFailed(type(err).__name__, str(err), operation=operation) from err
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
