"""The public API: accelerate() process-wide and per session, undo, is_accelerated, the callable package, the
clients left alone, and the compiled validity check never claiming valid what botocore would reject."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

import ddbkit
from ddbkit.accelerate.validate import compile_check


def test_process_wide_reaches_every_session_and_undo_reaches_existing_clients() -> None:
    with ddbkit.accelerate() as handle:
        clients = [boto3.client("dynamodb", region_name="us-east-1"),
                   boto3.Session(region_name="us-east-1").client("dynamodb"),
                   botocore.session.get_session().create_client("dynamodb", region_name="us-east-1"),
                   boto3.resource("dynamodb", region_name="us-east-1").Table("t")]
        assert all(ddbkit.is_accelerated(c) for c in clients)
        assert not ddbkit.is_accelerated(boto3.client("s3", region_name="us-east-1"))
    assert handle.active is False
    assert not any(ddbkit.is_accelerated(c) for c in clients)
    assert not ddbkit.is_accelerated(boto3.client("dynamodb", region_name="us-east-1"))
    handle.close()  # idempotent


def test_boto3_default_session_created_before_accelerate_is_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    # restored after the test: a default session with its own region would outrank AWS_REGION in later tests
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session(region_name="us-east-1")
    with ddbkit.accelerate():
        assert ddbkit.is_accelerated(boto3.client("dynamodb"))


def test_one_session_only() -> None:
    session = boto3.Session(region_name="us-east-1")
    with ddbkit.accelerate(session):
        assert ddbkit.is_accelerated(session.client("dynamodb"))
        assert not ddbkit.is_accelerated(boto3.Session(region_name="us-east-1").client("dynamodb"))
    bare = botocore.session.get_session()
    with ddbkit.accelerate(bare):
        assert ddbkit.is_accelerated(bare.create_client("dynamodb", region_name="us-east-1"))


def test_aiobotocore_clients_are_left_alone() -> None:
    aiobotocore_session = pytest.importorskip("aiobotocore.session")
    with ddbkit.accelerate():
        session = aiobotocore_session.get_session()
        import asyncio

        async def make() -> Any:
            async with session.create_client("dynamodb", region_name="us-east-1") as client:
                return client

        client = asyncio.run(make())
        assert not ddbkit.is_accelerated(client)


def test_the_package_is_callable_once_a_submodule_is_imported() -> None:
    code = ("import ddbkit, ddbkit.accelerate.engine, boto3\n"
            "h = ddbkit.accelerate()\n"
            "assert ddbkit.is_accelerated(boto3.client('dynamodb', region_name='us-east-1'))\n"
            "h.close()\nprint('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_import_ddbkit_does_not_import_the_accelerator() -> None:
    out = subprocess.run([sys.executable, "-c", "import sys, ddbkit; print('ddbkit.accelerate' in sys.modules, "
                          "'botocore' in sys.modules)"], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr[-2000:]


MODEL = botocore.session.get_session().get_service_model("dynamodb")
VALID = [
    ("GetItem", {"TableName": "t", "Key": {"pk": {"S": "a"}}}),
    ("PutItem", {"TableName": "t", "Item": {"a": {"M": {"b": {"L": [{"N": "1"}, {"NULL": True}, {"B": b"x"}]}}},
                                            "s": {"SS": ["x"]}, "bs": {"BS": [b"1", "2"]}}}),
    ("Query", {"TableName": "t", "Limit": 1, "ConsistentRead": True, "KeyConditionExpression": "pk = :p",
               "ExpressionAttributeValues": {":p": {"S": "a"}}}),
    ("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]}}),
]
INVALID = [
    ("GetItem", {"TableName": "t"}),  # missing Key
    ("GetItem", {"TableName": "t", "Key": {"pk": "a"}}),  # not an AttributeValue
    ("GetItem", {"TableName": "t", "Key": {"pk": {"S": "a", "N": "1"}}}),  # two members of a union
    ("GetItem", {"TableName": "t", "Key": {"pk": {}}}),  # no member
    ("GetItem", {"TableName": "", "Key": {"pk": {"S": "a"}}}),  # under min length
    ("GetItem", {"TableName": "t", "Key": {"pk": {"S": "a"}}, "Bogus": 1}),  # unknown parameter
    ("Query", {"TableName": "t", "Limit": 0}),  # under min
    ("Query", {"TableName": "t", "Limit": True}),  # bool is an int to botocore too: valid, see below
    ("PutItem", {"TableName": "t", "Item": {"n": {"N": 1}}}),  # N must be a string
    ("PutItem", {"TableName": "t", "Item": {"n": {"BOOL": "yes"}}}),
    ("PutItem", {"TableName": "t", "Item": {"n": {"SS": "x"}}}),
    ("PutItem", {"TableName": "t", "Item": {"n": {"B": 1}}}),
    ("BatchWriteItem", {"RequestItems": {"t": ({"PutRequest": {"Item": {"pk": {"S": "a"}}}},)}}),  # a tuple is a list
]


@pytest.mark.parametrize(("operation", "params"), VALID + INVALID)
def test_the_validity_check_agrees_with_botocore(operation: str, params: dict[str, Any]) -> None:
    shape = MODEL.operation_model(operation).input_shape
    try:
        validate_parameters(params, shape)
        botocore_valid = True
    except ParamValidationError:
        botocore_valid = False
    # the check may be more cautious than botocore (False where botocore passes), never less
    assert compile_check(shape)(params) is botocore_valid or (not compile_check(shape)(params) and botocore_valid)
    if (operation, params) in VALID:
        assert compile_check(shape)(params)
