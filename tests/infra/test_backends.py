"""The local backends and their fixtures behave as tests/support/backends.py says they do."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from backends import ALL_FEATURES, BACKEND_NAMES, FEATURES, Backend
from botocore.exceptions import ClientError

from ddbkit_infra.local import (
    BackendStartError,
    BackendUnavailable,
    DynamoDBLocal,
    MotoServer,
    find_dynamodb_local_dir,
    free_port,
    local_credentials_env,
)

TABLE = "ddbkit-test-orders"


def create_table(client: Any, name: str = TABLE, **extra: Any) -> None:
    """PAY_PER_REQUEST table with pk/sk and a GSI gsi1 on gsi1pk/gsi1sk; waits until ACTIVE."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "gsi1pk", "AttributeType": "S"},
            {"AttributeName": "gsi1sk", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        **extra,
    )
    deadline = time.monotonic() + 10
    while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, f"{name} never became ACTIVE"
        time.sleep(0.05)


def put_requests(count: int) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": {"pk": {"S": "batch"}, "sk": {"S": f"{i:03d}"}}}} for i in range(count)]


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code"))


# --- Every backend ----------------------------------------------------------------------------
def test_table_crud_query_and_gsi(backend: Backend) -> None:
    client = backend.client("dynamodb")
    assert client.list_tables()["TableNames"] == [], "backend fixture must start empty"
    create_table(client)

    table = client.describe_table(TableName=TABLE)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["gsi1"]

    items = [
        {"pk": {"S": "cust#1"}, "sk": {"S": "order#001"}, "gsi1pk": {"S": "open"}, "gsi1sk": {"N": "30"}},
        {"pk": {"S": "cust#1"}, "sk": {"S": "order#002"}, "gsi1pk": {"S": "open"}, "gsi1sk": {"N": "10"}},
        {"pk": {"S": "cust#1"}, "sk": {"S": "profile"}, "name": {"S": "Ada"}},
        {"pk": {"S": "cust#2"}, "sk": {"S": "order#001"}, "gsi1pk": {"S": "shipped"}, "gsi1sk": {"N": "5"}},
    ]
    for item in items:
        client.put_item(TableName=TABLE, Item=item)

    got = client.get_item(
        TableName=TABLE, Key={"pk": {"S": "cust#1"}, "sk": {"S": "profile"}}, ConsistentRead=True
    )
    assert got["Item"]["name"] == {"S": "Ada"}
    missing = client.get_item(TableName=TABLE, Key={"pk": {"S": "cust#9"}, "sk": {"S": "profile"}})
    assert "Item" not in missing

    orders = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": "cust#1"}, ":prefix": {"S": "order#"}},
    )
    assert [i["sk"]["S"] for i in orders["Items"]] == ["order#001", "order#002"]

    open_orders = client.query(
        TableName=TABLE,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :s",
        ExpressionAttributeValues={":s": {"S": "open"}},
    )
    assert [i["gsi1sk"]["N"] for i in open_orders["Items"]] == ["10", "30"]  # sorted by the GSI range key

    with pytest.raises(ClientError) as info:
        client.put_item(
            TableName=TABLE,
            Item={"pk": {"S": "cust#1"}, "sk": {"S": "profile"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    assert error_code(info.value) == "ConditionalCheckFailedException"


def test_require_skips_with_reason_for_missing_features(backend: Backend) -> None:
    assert backend.features == FEATURES[backend.name]
    for feature in sorted(ALL_FEATURES):
        if feature in backend.features:
            backend.require(feature)  # does not skip
        else:
            with pytest.raises(pytest.skip.Exception, match=f"^{backend.name} lacks {feature}$"):
                backend.require("tables", feature)
    with pytest.raises(ValueError, match="unknown backend feature"):
        backend.require("no-such-feature")


def test_client_for_control_plane_services(backend: Backend) -> None:
    if backend.has("control-plane"):
        s3 = backend.client("s3")
        s3.create_bucket(Bucket="ddbkit-test-bucket")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["ddbkit-test-bucket"]
    else:
        for service in ("s3", "backup", "cloudwatch", "application-autoscaling", "dax", "kms"):
            with pytest.raises(pytest.skip.Exception, match=f"{backend.name} lacks control-plane"):
                backend.client(service)
        backend.client("dynamodbstreams").list_streams()  # data-plane services still work


def test_strict_limits_feature_matches_behaviour(backend: Backend) -> None:
    """A 26-item BatchWriteItem is rejected exactly where "strict-limits" is claimed."""
    client = backend.client()
    create_table(client)
    if backend.has("strict-limits"):
        with pytest.raises(ClientError) as info:
            client.batch_write_item(RequestItems={TABLE: put_requests(26)})
        assert error_code(info.value) == "ValidationException"
        assert client.scan(TableName=TABLE, Select="COUNT")["Count"] == 0
    else:
        client.batch_write_item(RequestItems={TABLE: put_requests(26)})  # moto's laxness (facts.md)
        assert client.scan(TableName=TABLE, Select="COUNT")["Count"] == 26


def test_client_request_token_feature_matches_behaviour(backend: Backend) -> None:
    """Reusing a ClientRequestToken with other parameters fails exactly where claimed."""
    client = backend.client()
    create_table(client)

    def put(sk: str) -> None:
        client.transact_write_items(
            ClientRequestToken="ddbkit-token-1",
            TransactItems=[{"Put": {"TableName": TABLE, "Item": {"pk": {"S": "tok"}, "sk": {"S": sk}}}}],
        )

    put("a")
    if backend.has("client-request-token"):
        with pytest.raises(ClientError) as info:
            put("b")
        assert error_code(info.value) == "IdempotentParameterMismatchException"
    else:
        put("b")


def test_deletion_protection(backend: Backend) -> None:
    backend.require("deletion-protection")
    client = backend.client()
    create_table(client, DeletionProtectionEnabled=True)
    with pytest.raises(ClientError):
        client.delete_table(TableName=TABLE)
    assert TABLE in client.list_tables()["TableNames"]
    # left protected on purpose: the fixture's reset must still clean it up


# --- DynamoDB Local specifics ----------------------------------------------------------------
def test_dynamodb_local_rejects_26_item_batch(ddb_local_backend: Backend) -> None:
    """AWS's strict emulator enforces the 25-request BatchWriteItem limit like the service."""
    client = ddb_local_backend.client()
    create_table(client)
    with pytest.raises(ClientError) as info:
        client.batch_write_item(RequestItems={TABLE: put_requests(26)})
    assert error_code(info.value) == "ValidationException"
    assert "Too many items" in info.value.response["Error"]["Message"]
    assert client.batch_write_item(RequestItems={TABLE: put_requests(25)})["UnprocessedItems"] == {}
    assert client.scan(TableName=TABLE, Select="COUNT")["Count"] == 25


def test_dynamodb_local_lacks_backups(ddb_local_backend: Backend) -> None:
    with pytest.raises(pytest.skip.Exception, match="^dynamodb-local lacks backups$"):
        ddb_local_backend.require("backups")
    assert ddb_local_backend.endpoint_url is not None
    assert ddb_local_backend.endpoint_url.startswith("http://127.0.0.1:")


def test_dynamodb_local_reset_deletes_all_tables(
    ddb_local_backend: Backend, dynamodb_local: DynamoDBLocal
) -> None:
    client = ddb_local_backend.client()
    create_table(client, name="ddbkit-test-one")
    create_table(client, name="ddbkit-test-protected", DeletionProtectionEnabled=True)
    assert len(client.list_tables()["TableNames"]) == 2
    dynamodb_local.reset()
    assert client.list_tables()["TableNames"] == []
    assert dynamodb_local.running


def test_dynamodb_local_missing_jar_is_backend_unavailable(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="make setup"):
        DynamoDBLocal(jar_dir=tmp_path).start()
    with pytest.raises(BackendUnavailable, match="make setup"):
        find_dynamodb_local_dir(tmp_path / "nope")


def test_dynamodb_local_env_var_overrides_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDBKIT_DYNAMODB_LOCAL_DIR", str(tmp_path))
    with pytest.raises(BackendUnavailable, match="DDBKIT_DYNAMODB_LOCAL_DIR"):
        find_dynamodb_local_dir()
    (tmp_path / "DynamoDBLocal.jar").write_bytes(b"")
    assert find_dynamodb_local_dir() == tmp_path


def test_dynamodb_local_early_exit_reports_java_output(tmp_path: Path) -> None:
    (tmp_path / "DynamoDBLocal.jar").write_bytes(b"not a jar")
    server = DynamoDBLocal(jar_dir=tmp_path)
    with pytest.raises(BackendStartError, match="(?s)exited with code 1 while starting.*jarfile"):
        server.start()
    assert not server.running


def test_dynamodb_local_missing_java_is_backend_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(BackendUnavailable, match="sudo apt-get install -y default-jre-headless"):
        DynamoDBLocal().start()


# --- moto server specifics -------------------------------------------------------------------
def test_moto_server_reset_empties_state(moto_backend: Backend, moto_server: MotoServer) -> None:
    dynamodb = moto_backend.client("dynamodb")
    s3 = moto_backend.client("s3")
    create_table(dynamodb)
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
    s3.create_bucket(Bucket="ddbkit-reset-check")
    assert dynamodb.list_tables()["TableNames"] == [TABLE]

    moto_server.reset()

    assert dynamodb.list_tables()["TableNames"] == []
    assert s3.list_buckets()["Buckets"] == []
    with pytest.raises(ClientError) as info:
        dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}, "sk": {"S": "b"}})
    assert error_code(info.value) == "ResourceNotFoundException"
    create_table(dynamodb)  # usable again after reset
    assert dynamodb.scan(TableName=TABLE)["Items"] == []


def test_moto_server_listens_on_loopback(moto_server: MotoServer) -> None:
    assert moto_server.endpoint_url.startswith("http://127.0.0.1:")
    port = int(moto_server.endpoint_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_moto_server_fixed_busy_port_raises() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
            MotoServer(port=port).start()


# --- helpers of ddbkit_infra.local -----------------------------------------------------------
def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_local_credentials_env_is_fake_and_pinned() -> None:
    env = local_credentials_env()
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert "AWS_ENDPOINT_URL" not in env
    assert local_credentials_env("http://127.0.0.1:1")["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    # conftest pinned them for the whole suite
    for key, value in env.items():
        assert os.environ[key] == value
    assert "AWS_PROFILE" not in os.environ


def test_backend_names() -> None:
    assert BACKEND_NAMES == ("moto-inprocess", "moto-server", "dynamodb-local")
    assert set(FEATURES) == set(BACKEND_NAMES)
    for features in FEATURES.values():
        assert features <= ALL_FEATURES
    with pytest.raises(ValueError):
        Backend(name="moto-server", endpoint_url=None, features=frozenset({"teleport"}))


@pytest.mark.integration
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_prints_endpoint_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    port = free_port()
    # faulthandler: if serve() ever hangs, the child prints its stacks and exits instead.
    code = (
        "import faulthandler; faulthandler.dump_traceback_later(20, exit=True); "
        f"from ddbkit_infra.local import serve; serve(port={port})"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while not any("Ctrl-C" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stdout.readline())
        output = "".join(lines)
        assert f"http://127.0.0.1:{port}" in output
        assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in output
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        proc.send_signal(stop_signal)
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "stopping" in stdout
