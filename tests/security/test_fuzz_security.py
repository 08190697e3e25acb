"""Fuzzing (config loader, validator, cursors), concurrency on one Table, and what logs may contain."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
import yaml
from backends import Backend
from fakes import FakeDynamo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddbkit import Key, Table, Update
from ddbkit.core.codec import marshal_item
from ddbkit.config import ConfigError, load_component_text, parse_table_config
from ddbkit.core.cursor import CursorCodec
from ddbkit.errors import ConditionalCheckFailed, CursorError, ServiceValidationError, ThrottledError
from ddbkit.core.retry import RetryPolicy
from ddbkit.core.usage import log_items

# --------------------------------------------------------------------------------------------------
# config loader and validator: only ConfigError, whatever the input
# --------------------------------------------------------------------------------------------------

KEYS = ["components", "name", "type", "config", "binds", "to", "access", "tableName", "billingMode",
        "attributeDefinitions", "attributeName", "attributeType", "keySchema", "keyType",
        "globalSecondaryIndexes", "localSecondaryIndexes", "indexName", "projection", "projectionType",
        "nonKeyAttributes", "provisionedThroughput", "readCapacityUnits", "writeCapacityUnits",
        "streamSpecification", "streamEnabled", "streamViewType", "backupPolicy", "backupPlan", "schedule",
        "retention", "ruleName", "globalTables", "regions", "replicationGroup", "region", "autoScaling",
        "daxCluster", "tags", "complianceFramework", "sseSpecification", "kmsMasterKeyId", "x"]
leaves = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True),
                   st.sampled_from(["S", "N", "B", "HASH", "RANGE", "ALL", "INCLUDE", "ON_DEMAND", "PROVISIONED",
                                    "dynamodb-table", "read", "cron(0 2 * * ? *)", "us-east-1", "", "ab"]),
                   st.text(max_size=12))
trees = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)), max_leaves=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_loader_raises_only_config_errors(tree: Any) -> None:
    text = yaml.safe_dump(tree) if not isinstance(tree, str) else tree
    try:
        load_component_text(text)
    except ConfigError as err:
        assert err.issues and all(i.message for i in err.issues)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_loader_survives_arbitrary_text(text: str) -> None:
    try:
        load_component_text(text)
    except ConfigError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), trees, max_size=10))
def test_validator_raises_only_config_errors(data: dict[str, Any]) -> None:
    try:
        parse_table_config(data)
    except ConfigError as err:
        assert all(i.rule and i.message for i in err.issues)


# --------------------------------------------------------------------------------------------------
# cursors: random and tampered tokens rejected; never a request outside the queried partition
# --------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_tokens_are_rejected_cleanly(token: str) -> None:
    for codec in (CursorCodec(), CursorCodec("k" * 32)):
        try:
            codec.decode(token, "T/", ["pk"])
        except CursorError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(0, 200))
def test_tampered_signed_tokens_are_rejected(noise: bytes, position: int) -> None:
    codec = CursorCodec("secret" * 6)
    token = codec.encode(marshal_item({"pk": "u1", "sk": "a"}), "T/")
    assert token
    pos = position % len(token)
    replacement = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[noise[0] % 64]
    tampered = token[:pos] + replacement + token[pos + 1:]
    if tampered == token:
        return
    with pytest.raises(CursorError):
        codec.decode(tampered, "T/", ["pk", "sk"])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["pk", "sk", "x"]),
                       st.one_of(st.text(max_size=5), st.integers(-(10**38) + 1, 10**38 - 1),
                                 st.binary(max_size=4)), min_size=1))
def test_crafted_cursor_never_leaves_the_queried_partition(key: dict[str, Any]) -> None:
    fake = FakeDynamo(keys=("pk", "sk"))
    fake._Query = lambda req: {"Items": [], "Count": 0}  # type: ignore[attr-defined]
    t = Table("Things", key=("pk", "sk"), transport=fake)
    token = CursorCodec().encode(marshal_item(key), "Things/")
    try:
        t.query({"pk": "u1"}, cursor=token)
    except CursorError:
        return
    sent = [req for op, req in fake.calls if op == "Query"][-1]
    assert sent["ExclusiveStartKey"]["pk"] == {"S": "u1"}


# --------------------------------------------------------------------------------------------------
# concurrency: one Table shared by many threads
# --------------------------------------------------------------------------------------------------


def test_threads_share_one_table(server_backend: Backend) -> None:
    client = server_backend.client("dynamodb")
    client.create_table(TableName="Shared", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    t = Table("Shared", endpoint_url=server_backend.endpoint_url, region_name=server_backend.region)
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for i in range(15):
                t.update({"pk": "counter"}, Update().add("n", 1))
                t.put({"pk": f"w{w}-{i}", "w": w})
                t.get({"pk": f"w{w}-{i}"})
            t.batch_write([{"pk": f"b{w}-{i}"} for i in range(30)])
            list(t.query_iter(Key("pk").eq(f"w{w}-0")))
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert (t.get({"pk": "counter"}, consistent=True) or {})["n"] == 8 * 15
    assert t.count() == 1 + 8 * 15 + 8 * 30
    usage = t.usage
    assert usage.calls["UpdateItem"] == 120 and usage.calls["PutItem"] == 120 and usage.calls["GetItem"] == 121
    assert usage.calls["BatchWriteItem"] == 16


# --------------------------------------------------------------------------------------------------
# logs and traces carry no item values unless debug item logging is on
# --------------------------------------------------------------------------------------------------


def test_failed_call_logs_no_item_values(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeDynamo()
    t = Table("Things", key="pk", transport=fake, retry=RetryPolicy(max_attempts=2, base_delay=0))
    fake.errors = [fake.error("ThrottlingException"), fake.error("ThrottlingException"),
                   fake.error("ConditionalCheckFailedException", message="The conditional request failed")]
    caplog.set_level(logging.DEBUG, logger="ddbkit")
    with pytest.raises(ThrottledError):
        t.put({"pk": "k", "ssn": "078-05-1120", "card": "4111111111111111"})
    with pytest.raises(ConditionalCheckFailed):
        t.put({"pk": "k", "ssn": "078-05-1120"})
    text = caplog.text
    assert "PutItem" in text and "ThrottlingException" in text and "ConditionalCheckFailed" in text
    assert "078-05-1120" not in text and "4111111111111111" not in text and "testing" not in text

    caplog.clear()
    log_items(True)
    try:
        fake.errors = [fake.error("ValidationException")]
        with pytest.raises(ServiceValidationError):
            t.put({"pk": "k", "ssn": "078-05-1120"})
    finally:
        log_items(False)
    assert "078-05-1120" in caplog.text  # only when explicitly asked for
