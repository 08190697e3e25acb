"""Parity on AWS's DynamoDB Local: the same calls on every transport and on boto3 give the same items
and the same error codes (real DynamoDB replies, not scripted ones)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from backends import Backend
from parity_harness import WIRE_TRANSPORTS, send_all

from ddbkit.core.codec import unmarshal_item


@pytest.fixture(params=WIRE_TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Every row here on ddbkit's four transports and on an accelerated boto3 client (issue 27)."""
    return str(request.param)


pytestmark = pytest.mark.integration

ITEM = {"pk": {"S": "k1"}, "sk": {"N": "1"}, "b": {"B": b"\x00\xff"}, "n": {"N": "3.14"}, "ss": {"SS": ["a", "b"]},
        "l": {"L": [{"N": "1"}, {"S": "x"}, {"BOOL": True}, {"NULL": True}]},
        "m": {"M": {"inner": {"BS": [b"\x01", b"\x02"]}, "deep": {"M": {"d": {"S": "y"}}}}}}

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("PutItem", {"TableName": "Parity", "Item": ITEM}),
    ("GetItem", {"TableName": "Parity", "Key": {"pk": {"S": "k1"}, "sk": {"N": "1"}}, "ConsistentRead": True}),
    ("Query", {"TableName": "Parity", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {
        ":p": {"S": "k1"}}, "Limit": 1}),
    ("PutItem", {"TableName": "Parity", "Item": ITEM, "ConditionExpression": "attribute_not_exists(pk)",
                 "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    ("GetItem", {"TableName": "Missing", "Key": {"pk": {"S": "k1"}, "sk": {"N": "1"}}}),
    ("GetItem", {"TableName": "Parity", "Key": {"pk": {"N": "1"}}}),
    ("TransactWriteItems", {"TransactItems": [{"ConditionCheck": {
        "TableName": "Parity", "Key": {"pk": {"S": "k1"}, "sk": {"N": "1"}},
        "ConditionExpression": "attribute_not_exists(pk)"}}]}),
    ("DeleteItem", {"TableName": "Parity", "Key": {"pk": {"S": "k1"}, "sk": {"N": "1"}}, "ReturnValues": "ALL_OLD"}),
]


def _normal(response: dict[str, Any] | None) -> Any:
    """Items decoded with ddbkit's codec (B values are bytes on botocore, base64 text on the fast path)."""
    if response is None:
        return None
    out: dict[str, Any] = {}
    for key in ("Item", "Attributes"):
        if key in response:
            out[key] = unmarshal_item(response[key])
    if "Items" in response:
        out["Items"] = [unmarshal_item(i) for i in response["Items"]]
        out["LastEvaluatedKey"] = unmarshal_item(response["LastEvaluatedKey"]) if "LastEvaluatedKey" in response \
            else None
    return out


def test_same_answers_as_boto3_on_dynamodb_local(ddb_local_backend: Backend, transport: str) -> None:
    url = ddb_local_backend.endpoint_url
    client = boto3.client("dynamodb", endpoint_url=url, region_name=ddb_local_backend.region)
    client.create_table(TableName="Parity", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "N"}])
    from botocore.exceptions import ClientError

    from ddbkit.transport import snake_case

    reference = []
    for operation, request in CALLS:
        try:
            response = getattr(client, snake_case(operation))(**request)
            reference.append((True, None, _normal(response)))
        except ClientError as err:
            reference.append((False, err.response["Error"]["Code"], _normal(err.response)))
    ours = send_all(transport, CALLS, endpoint_url=url, region_name=ddb_local_backend.region)
    got = [(o.ok, o.code, _normal(o.response if o.ok else getattr(o.error, "response", None))) for o in ours]
    assert [g[:2] for g in got] == [r[:2] for r in reference]
    assert got == reference
    failed = ours[3].error
    assert failed is not None and getattr(failed, "item", None) == unmarshal_item(ITEM)  # ALL_OLD on failure
