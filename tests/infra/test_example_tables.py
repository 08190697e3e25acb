"""The validated, tier-resolved example configs create real tables on every local backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from backends import Backend

from ddbkit.config import load_component_file
from ddbkit_infra.compliance import resolve
from ddbkit_infra.resources import create_table_request

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*/component.yaml"))


def _tables() -> list[tuple[str, str]]:
    return [(str(path), name) for path in EXAMPLES for name in load_component_file(path).tables]


@pytest.mark.parametrize("path,name", _tables(), ids=lambda v: Path(v).parent.name if "/" in v else v)
def test_example_table_is_created_as_configured(backend: Backend, path: str, name: str) -> None:
    cfg = resolve(load_component_file(path).table(name)).config
    req = create_table_request(cfg)
    # KMS keys in the examples are account-specific ARNs; local backends have no such keys
    req.pop("SSESpecification", None)
    if not backend.has("tags"):
        req.pop("Tags", None)
    client = backend.client("dynamodb")
    client.create_table(**req)
    client.get_waiter("table_exists").wait(TableName=cfg.table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    desc = client.describe_table(TableName=cfg.table_name)["Table"]
    assert desc["KeySchema"] == req["KeySchema"]
    assert {a["AttributeName"] for a in desc["AttributeDefinitions"]} == set(cfg.attribute_types())
    assert sorted(g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", [])) == sorted(
        g.index_name for g in cfg.global_secondary_indexes)
    billing = desc.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    assert billing == cfg.effective_billing_mode.value
    if cfg.stream_specification and cfg.stream_specification.stream_enabled:
        assert desc["StreamSpecification"]["StreamViewType"] == cfg.stream_specification.stream_view_type


def test_spec_lsi_on_hash_only_table_is_rejected_by_dynamodb_local(ddb_local_backend: Backend) -> None:
    """Our lsi.table-range rule mirrors the real service: DynamoDB Local rejects the spec's LSI too."""
    from botocore.exceptions import ClientError

    client = ddb_local_backend.client("dynamodb")
    with pytest.raises(ClientError) as exc:
        client.create_table(
            TableName="UserSessions", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "sessionId", "AttributeType": "S"},
                                  {"AttributeName": "sessionType", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "sessionId", "KeyType": "HASH"}],
            LocalSecondaryIndexes=[{"IndexName": "SessionTypeIndex",
                                    "KeySchema": [{"AttributeName": "sessionId", "KeyType": "HASH"},
                                                  {"AttributeName": "sessionType", "KeyType": "RANGE"}],
                                    "Projection": {"ProjectionType": "ALL"}}])
    assert exc.value.response["Error"]["Code"] == "ValidationException"
