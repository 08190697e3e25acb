"""The config model as DynamoDB API requests (CreateTable and friends).

Pure functions from a validated :class:`~ddbkit.config.TableConfig` to boto3 request dicts; the plan/apply
engine and the tests that create tables on the local backends both use them.
"""

from __future__ import annotations

from typing import Any

from ddbkit.config import (
    BillingMode,
    GlobalSecondaryIndex,
    KeySchemaElement,
    LocalSecondaryIndex,
    Projection,
    ProvisionedThroughput,
    TableConfig,
)

__all__ = ["create_table_request", "key_schema", "projection", "throughput", "gsi_request", "lsi_request"]


def key_schema(schema: list[KeySchemaElement]) -> list[dict[str, str]]:
    return [{"AttributeName": k.attribute_name, "KeyType": k.key_type} for k in schema]


def projection(p: Projection) -> dict[str, Any]:
    out: dict[str, Any] = {"ProjectionType": p.projection_type}
    if p.non_key_attributes:
        out["NonKeyAttributes"] = list(p.non_key_attributes)
    return out


def throughput(t: ProvisionedThroughput) -> dict[str, int]:
    return {"ReadCapacityUnits": t.read_capacity_units, "WriteCapacityUnits": t.write_capacity_units}


def gsi_request(g: GlobalSecondaryIndex, billing: BillingMode) -> dict[str, Any]:
    out: dict[str, Any] = {"IndexName": g.index_name, "KeySchema": key_schema(g.key_schema),
                           "Projection": projection(g.projection)}
    if billing is BillingMode.PROVISIONED and g.provisioned_throughput:
        out["ProvisionedThroughput"] = throughput(g.provisioned_throughput)
    return out


def lsi_request(li: LocalSecondaryIndex) -> dict[str, Any]:
    return {"IndexName": li.index_name, "KeySchema": key_schema(li.key_schema), "Projection": projection(li.projection)}


def create_table_request(cfg: TableConfig, *, sse_key_id: str | None = None) -> dict[str, Any]:
    """The CreateTable parameters for ``cfg``.

    CreateTable does not take PITR, TTL, contributor insights, replicas or autoscaling: those are
    separate calls made after the table is ACTIVE. ``sse_key_id`` overrides the key (e.g. a key ddbkit
    just created because the config asks for ``createKey``).
    """
    billing = cfg.effective_billing_mode
    req: dict[str, Any] = {
        "TableName": cfg.table_name,
        "AttributeDefinitions": [{"AttributeName": a.attribute_name, "AttributeType": a.attribute_type}
                                 for a in cfg.attribute_definitions],
        "KeySchema": key_schema(cfg.key_schema),
        "BillingMode": billing.value,
    }
    if billing is BillingMode.PROVISIONED and cfg.provisioned_throughput:
        req["ProvisionedThroughput"] = throughput(cfg.provisioned_throughput)
    if cfg.global_secondary_indexes:
        req["GlobalSecondaryIndexes"] = [gsi_request(g, billing) for g in cfg.global_secondary_indexes]
    if cfg.local_secondary_indexes:
        req["LocalSecondaryIndexes"] = [lsi_request(li) for li in cfg.local_secondary_indexes]
    ss = cfg.stream_specification
    if ss and ss.stream_enabled:
        req["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": ss.stream_view_type}
    elif cfg.global_tables:
        req["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    sse = cfg.sse_specification
    if sse and sse.sse_enabled:
        spec: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}  # the API says Enabled; CFN says SSEEnabled
        key = sse_key_id or sse.kms_master_key_id
        if key:
            spec["KMSMasterKeyId"] = key
        req["SSESpecification"] = spec
    if cfg.table_class:
        req["TableClass"] = cfg.table_class
    if cfg.deletion_protection_enabled is not None:
        req["DeletionProtectionEnabled"] = cfg.deletion_protection_enabled
    if cfg.tags:
        req["Tags"] = [{"Key": k, "Value": v} for k, v in cfg.tags.items()]
    return req
