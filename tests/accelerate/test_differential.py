"""Accelerated vs plain boto3 on moto's server and DynamoDB Local: the same return dicts (ResponseMetadata
included, volatile header values aside), the same exceptions with the same ``response``, the same
ParamValidationError, paginators and waiters - for the client and the resource Table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError, ParamValidationError

import ddbkit

VOLATILE_HEADERS = {"date", "x-amzn-requestid", "x-amz-crc32", "content-length"}


def _normal(value: Any) -> Any:
    """A reply with the values that differ between any two calls (request ids, dates, CRCs) blanked."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "RequestId":
                out[k] = "<id>"
            elif k == "HTTPHeaders":
                out[k] = {h: ("<v>" if h in VOLATILE_HEADERS else hv) for h, hv in v.items()}
            else:
                out[k] = _normal(v)
        return out
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _outcome(call: Any) -> Any:
    try:
        return ("ok", _normal(call()))
    except ClientError as err:
        return ("error", type(err).__name__, _normal(err.response), str(err).split("RequestId")[0])
    except ParamValidationError as err:
        return ("invalid", str(err))
    except (TypeError, ValueError, ArithmeticError) as err:
        return ("python", type(err).__name__, str(err))


def _clients(backend: Any) -> tuple[Any, Any]:
    kwargs = {"region_name": backend.region, "endpoint_url": backend.endpoint_url}
    plain = boto3.Session().client("dynamodb", **kwargs)
    with ddbkit.accelerate():
        fast = boto3.Session().client("dynamodb", **kwargs)
    assert ddbkit.is_accelerated(fast) is False  # the handle is closed: undo reaches existing clients
    return plain, fast


def _create(client: Any, name: str) -> None:
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "N"}])
    client.get_waiter("table_exists").wait(TableName=name)


CLIENT_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("put_item", {"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"x", b"y"]},
                           "m": {"M": {"B": {"S": "not a blob"}, "l": {"L": [{"N": "1.50"}, {"NULL": True}]}}},
                           "t": {"B": "text is sent as UTF-8"}}}),
    ("put_item", {"Item": {"pk": {"S": "a"}, "sk": {"N": "2"}, "n": {"N": "10"}}, "ReturnValues": "ALL_OLD",
                  "ReturnConsumedCapacity": "TOTAL"}),
    ("get_item", {"Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConsistentRead": True}),
    ("get_item", {"Key": {"pk": {"S": "nope"}, "sk": {"N": "1"}}}),
    ("update_item", {"Key": {"pk": {"S": "a"}, "sk": {"N": "2"}}, "UpdateExpression": "SET n = n + :one",
                     "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "UPDATED_NEW"}),
    ("put_item", {"Item": {"pk": {"S": "a"}, "sk": {"N": "2"}}, "ConditionExpression": "attribute_not_exists(pk)",
                  "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    ("query", {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}, "Limit": 1}),
    ("query", {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}},
               "ScanIndexForward": False}),
    ("scan", {"Select": "COUNT"}),
    ("batch_write_item", {"RequestItems": {"@": [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}, "sk": {"N": "0"}}}}
                                                 for i in range(25)]}}),
    ("batch_get_item", {"RequestItems": {"@": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}}]}}}),
    ("transact_write_items", {"TransactItems": [
        {"ConditionCheck": {"TableName": "@", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                            "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"TableName": "@", "Item": {"pk": {"S": "c"}, "sk": {"N": "1"}}}}]}),
    ("transact_write_items", {"TransactItems": [{"Put": {"TableName": "@", "Item": {"pk": {"S": "c"}, "sk": {"N": "1"}}}}],
                              "ClientRequestToken": "token-@"}),
    ("transact_get_items", {"TransactItems": [{"Get": {"TableName": "@", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}}]}),
    ("execute_statement", {"Statement": "SELECT * FROM \"@\" WHERE pk = 'a'"}),
    ("batch_execute_statement", {"Statements": [{"Statement": "SELECT * FROM \"@\" WHERE pk = 'a' AND sk = 1"}]}),
    ("execute_transaction", {"TransactStatements": [{"Statement": "UPDATE \"@\" SET z = 1 WHERE pk = 'a' AND sk = 2"}]}),
    ("delete_item", {"Key": {"pk": {"S": "b3"}, "sk": {"N": "0"}}, "ReturnValues": "ALL_OLD"}),
    ("get_item", {"Key": {"pk": {"S": "a"}}}),  # a server-side ValidationException
    ("get_item", {"Key": {"pk": "a"}}),  # ParamValidationError
    ("query", {"KeyConditionExpression": "pk = :p", "Bogus": 1}),  # ParamValidationError: unknown parameter
    ("get_item", {"Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "TableName": "missing"}),  # ResourceNotFound
]


def _bind(params: dict[str, Any], table: str) -> dict[str, Any]:
    def sub(v: Any) -> Any:
        if v == "@":
            return table
        if v == "token-@":
            return f"token-{table}"
        if isinstance(v, str):
            return v.replace('"@"', f'"{table}"')
        if isinstance(v, dict):
            return {sub(k): sub(x) for k, x in v.items()}
        if isinstance(v, list):
            return [sub(x) for x in v]
        return v

    bound = sub(params)
    if "Statement" not in bound and "Statements" not in bound and "TransactItems" not in bound \
            and "TransactStatements" not in bound and "RequestItems" not in bound:
        bound.setdefault("TableName", table)
    return bound


def test_client_calls_match_plain_boto3(server_backend: Any) -> None:
    plain, fast = _clients(server_backend)
    with ddbkit.accelerate():
        fast = boto3.Session().client("dynamodb", region_name=server_backend.region,
                                      endpoint_url=server_backend.endpoint_url)
        assert ddbkit.is_accelerated(fast)
        _create(plain, "plain")
        _create(plain, "fast")
        for method, params in CLIENT_CALLS:
            want = _outcome(lambda m=method, p=params: getattr(plain, m)(**_bind(p, "plain")))
            got = _outcome(lambda m=method, p=params: getattr(fast, m)(**_bind(p, "fast")))
            assert _rename(got, "fast") == _rename(want, "plain"), method
        assert fast._ddbkit_engine is not None
        # paginators and waiters call the client's methods: they pass through
        pages = [p["Count"] for p in fast.get_paginator("scan").paginate(TableName="fast", PaginationConfig={"PageSize": 7})]
        want_pages = [p["Count"] for p in plain.get_paginator("scan").paginate(TableName="plain", PaginationConfig={"PageSize": 7})]
        assert pages == want_pages and sum(pages) > 20
        fast.get_waiter("table_exists").wait(TableName="fast")


def _rename(outcome: Any, table: str) -> Any:
    text = repr(outcome).replace(table, "<table>")
    return text


def test_resource_table_matches_plain_boto3(server_backend: Any) -> None:
    kwargs = {"region_name": server_backend.region, "endpoint_url": server_backend.endpoint_url}
    plain = boto3.Session().resource("dynamodb", **kwargs)
    with ddbkit.accelerate():
        fast = boto3.Session().resource("dynamodb", **kwargs)
        assert ddbkit.is_accelerated(fast.Table("x"))
        _create(plain.meta.client, "plain")
        _create(plain.meta.client, "fast")
        calls: list[tuple[str, dict[str, Any]]] = [
            ("put_item", {"Item": {"pk": "a", "sk": 1, "d": Decimal("1.25"), "s": {"x", "y"}, "ns": {1, Decimal("2.5")},
                                   "bin": b"\x00\x01", "l": [None, True, {"m": "v"}], "e": ""}}),
            ("put_item", {"Item": {"pk": "a", "sk": 2, "f": 1.5}}),  # boto3's float TypeError
            ("put_item", {"Item": {"pk": "a", "sk": 3, "s": set()}}),  # boto3's empty-set error
            ("put_item", {"Item": {"pk": "a", "sk": 4, "d": Decimal("1.000000000000000000000000000000000000001")}}),
            ("get_item", {"Key": {"pk": "a", "sk": 1}}),
            ("query", {"KeyConditionExpression": Key("pk").eq("a") & Key("sk").between(0, 9),
                       "FilterExpression": Attr("d").gt(Decimal(1)) | Attr("bin").exists()}),
            ("update_item", {"Key": {"pk": "a", "sk": 1}, "UpdateExpression": "SET c = :c",
                             "ConditionExpression": Attr("pk").eq("a"), "ExpressionAttributeValues": {":c": [1, 2]},
                             "ReturnValues": "ALL_NEW"}),
            ("delete_item", {"Key": {"pk": "a", "sk": 1}, "ConditionExpression": Attr("nope").exists()}),
            ("scan", {"FilterExpression": Attr("pk").begins_with("a")}),
        ]
        for method, params in calls:
            want = _outcome(lambda m=method, p=params: getattr(plain.Table("plain"), m)(**p))
            got = _outcome(lambda m=method, p=params: getattr(fast.Table("fast"), m)(**p))
            assert _rename(got, "fast") == _rename(want, "plain"), method
        items = [{"pk": f"w{i}", "sk": i, "v": Decimal(i)} for i in range(60)]
        for name, resource in (("plain", plain), ("fast", fast)):
            with resource.Table(name).batch_writer(overwrite_by_pkeys=["pk", "sk"]) as writer:
                for item in items:
                    writer.put_item(Item=item)
                writer.delete_item(Key={"pk": "w0", "sk": 0})
        assert _normal(fast.Table("fast").scan(Select="COUNT")) == _normal(plain.Table("plain").scan(Select="COUNT"))
        user_item = {"pk": "u", "sk": 1, "m": {"k": [1]}}
        fast.Table("fast").put_item(Item=user_item)
        assert user_item == {"pk": "u", "sk": 1, "m": {"k": [1]}}  # the caller's item is never changed
