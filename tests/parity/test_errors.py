"""The errors a user meets, the same on every transport (issue 13, item 13).

* a missing table or index: :class:`ResourceNotFound` names them (DynamoDB says only "Requested resource
  not found");
* no region: :class:`NoRegionError` with botocore's "You must specify a region." (was ValueError on the fast
  path, botocore's own NoRegionError on the botocore path);
* no credentials: :class:`NoCredentialsError` with botocore's "Unable to locate credentials" (was an invented
  AccessDenied on the fast path, botocore's NoCredentialsError on the botocore path);
* a connection failure names the endpoint URL and never shows an object repr (``<... object at 0x...>``).
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from typing import Any

import pytest

from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.errors import BatchWriteError, ConnectionFailed, NoCredentialsError, NoRegionError, ResourceNotFound
from ddbkit.core.retry import RetryPolicy

PATHS = ["fast-sync", "fast-async", "botocore-sync", "aioboto3"]
ONCE = RetryPolicy(max_attempts=1)


def table(path: str, name: str = "Things", **kwargs: Any) -> Table | AsyncTable:
    kwargs.setdefault("retry", ONCE)
    transport = "botocore" if path in ("botocore-sync", "aioboto3") else "fast"
    cls = Table if path.endswith("sync") else AsyncTable
    return cls(name, key="pk", transport=transport, **kwargs)


def attempt(path: str, make: Any, action: Any) -> None:
    """Build the table and run ``action(table)`` (awaited on the async paths), closing it afterwards; errors
    at construction (botocore resolves the region there) surface like errors of the call."""

    async def scenario() -> None:
        t = make()
        try:
            result = action(t)
            if inspect.isawaitable(result):
                await result
        finally:
            closed = t.close()
            if inspect.isawaitable(closed):
                await closed

    asyncio.run(scenario())


@pytest.mark.parametrize("path", PATHS)
def test_resource_not_found_names_the_table_and_index(path: str, moto_backend: Any) -> None:
    client = moto_backend.client("dynamodb")
    client.create_table(TableName="present", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    where = {"endpoint_url": moto_backend.endpoint_url, "region_name": moto_backend.region}
    with pytest.raises(ResourceNotFound) as exc:
        attempt(path, lambda: table(path, "no-such-table", **where), lambda t: t.get({"pk": "a"}))
    assert exc.value.table == "no-such-table" and "'no-such-table'" in str(exc.value)
    assert str(exc.value).startswith("GetItem: ResourceNotFoundException")
    with pytest.raises(BatchWriteError) as batch:  # a batch reports its requests, with the cause
        attempt(path, lambda: table(path, "no-such-table", **where),
                lambda t: t.batch_write([{"pk": "a"}]))
    assert isinstance(batch.value.cause, ResourceNotFound) and batch.value.cause.table == "no-such-table"
    # an index the table lacks: moto answers ValidationException for Query on a missing index, so the
    # naming is checked on the shared mapping with the request a Query sends
    from ddbkit.errors import error_from_response, name_resource

    err = name_resource(error_from_response("ResourceNotFoundException", "Requested resource not found",
                                            operation="Query"), {"TableName": "t1", "IndexName": "byUser"})
    assert isinstance(err, ResourceNotFound) and (err.table, err.index) == ("t1", "byUser")
    assert "index 'byUser' of table 't1'" in str(err)


@pytest.mark.parametrize("path", PATHS)
def test_no_region_is_botocores_error_on_every_transport(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with pytest.raises(NoRegionError, match=r"^You must specify a region\.$"):
        attempt(path, lambda: table(path), lambda t: t.get({"pk": "a"}))


@pytest.mark.parametrize("path", PATHS)
def test_no_credentials_is_botocores_error_on_every_transport(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    if path == "aioboto3":
        import aioboto3

        session: Any = aioboto3.Session(region_name="us-east-1")
    else:
        import boto3

        session = boto3.Session(region_name="us-east-1")  # a fresh session: no cached credentials
    with pytest.raises(NoCredentialsError, match="^Unable to locate credentials$"):
        attempt(path, lambda: table(path, session=session, endpoint_url="http://127.0.0.1:9"),
                lambda t: t.get({"pk": "a"}))


@pytest.mark.parametrize("path", PATHS)
def test_connection_errors_name_the_endpoint(path: str) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.raises(ConnectionFailed) as exc:
        attempt(path, lambda: table(path, endpoint_url=endpoint, region_name="us-east-1"),
                lambda t: t.get({"pk": "a"}))
    text = str(exc.value)
    assert endpoint in text and exc.value.endpoint is not None and endpoint in exc.value.endpoint
    assert "object at 0x" not in text and "HTTPConnectionPool(" not in text, text
    assert "Could not connect to the endpoint URL" in text, text
