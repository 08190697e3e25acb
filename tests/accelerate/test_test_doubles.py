"""The worst failure mode first: under moto's ``mock_aws`` and botocore's ``Stubber`` an accelerated client's
calls are answered by the double and nothing leaves the process (a socket guard fails the test otherwise)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
import botocore.session
import pytest
from boto3.dynamodb.conditions import Key
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto import mock_aws

import ddbkit

REGION = "us-east-1"
# an endpoint nothing listens on: a call that escaped a double would fail to connect (and the guard catches it)
NOWHERE = "http://127.0.0.1:9"


def _table(client: Any, name: str = "t") -> None:
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")


def _data_plane(client: Any) -> None:
    """Every accelerated operation once, checked."""
    client.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    assert client.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    client.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :v",
                       ExpressionAttributeValues={":v": {"N": "2"}})
    assert client.query(TableName="t", KeyConditionExpression="pk = :p",
                        ExpressionAttributeValues={":p": {"S": "a"}})["Count"] == 1
    assert client.scan(TableName="t")["Count"] == 1
    client.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]})
    assert len(client.batch_get_item(RequestItems={"t": {"Keys": [{"pk": {"S": "b"}}]}})["Responses"]["t"]) == 1
    client.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": "c"}}}}])
    assert client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": {"pk": {"S": "c"}}}}])[
        "Responses"][0]["Item"] == {"pk": {"S": "c"}}
    assert client.execute_statement(Statement="SELECT * FROM t WHERE pk = 'c'")["Items"] == [{"pk": {"S": "c"}}]
    client.batch_execute_statement(Statements=[{"Statement": "SELECT * FROM t WHERE pk = 'a'"}])
    client.execute_transaction(TransactStatements=[{"Statement": "INSERT INTO t VALUE {'pk': 'd'}"}])
    client.delete_item(TableName="t", Key={"pk": {"S": "a"}})
    assert "Item" not in client.get_item(TableName="t", Key={"pk": {"S": "a"}})


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_mock_aws_answers_every_call_of_an_accelerated_client(accelerated: Any, no_network: list[Any],
                                                                mode: str) -> None:
    from botocore.config import Config

    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION, config=Config(retries={"mode": mode}))
        assert ddbkit.is_accelerated(client)
        _table(client)
        _data_plane(client)
    assert no_network == []


def test_mock_aws_answers_a_client_built_before_the_mock_and_a_bare_botocore_session(
        accelerated: Any, no_network: list[Any]) -> None:
    early = boto3.client("dynamodb", region_name=REGION)
    bare = botocore.session.get_session().create_client("dynamodb", region_name=REGION,
                                                         aws_access_key_id="k", aws_secret_access_key="s")
    with mock_aws():
        _table(early)
        _data_plane(early)
        assert bare.get_item(TableName="t", Key={"pk": {"S": "b"}})["Item"] == {"pk": {"S": "b"}}
    assert no_network == []


def test_mock_aws_answers_the_resource_table_and_batch_writer(accelerated: Any, no_network: list[Any]) -> None:
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name=REGION)
        _table(resource.meta.client)
        table = resource.Table("t")
        table.put_item(Item={"pk": "a", "n": Decimal("1.5")})
        with table.batch_writer() as writer:
            for i in range(30):
                writer.put_item(Item={"pk": f"b{i}"})
        assert table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "n": Decimal("1.5")}
        assert table.query(KeyConditionExpression=Key("pk").eq("b3"))["Count"] == 1
        assert table.scan(Select="COUNT")["Count"] == 31
    assert no_network == []


def test_accelerate_called_inside_an_active_mock(no_network: list[Any]) -> None:
    with mock_aws(), ddbkit.accelerate():
        client = boto3.client("dynamodb", region_name=REGION)
        assert ddbkit.is_accelerated(client)
        _table(client)
        _data_plane(client)
    assert no_network == []


def test_stubber_answers_an_accelerated_client(accelerated: Any, no_network: list[Any]) -> None:
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=NOWHERE)
    assert ddbkit.is_accelerated(client)
    with Stubber(client) as stub:
        stub.add_response("get_item", {"Item": {"pk": {"S": "a"}}}, {"TableName": "t", "Key": {"pk": {"S": "a"}}})
        stub.add_response("put_item", {}, {"TableName": "t", "Item": {"pk": {"S": "b"}}})
        stub.add_client_error("query", "ResourceNotFoundException", "no table", http_status_code=400)
        stub.add_response("batch_write_item", {"UnprocessedItems": {}})
        assert client.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
        client.put_item(TableName="t", Item={"pk": {"S": "b"}})
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
        client.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": {"pk": {"S": "c"}}}}]})
        stub.assert_no_pending_responses()
    assert no_network == []


def test_stubber_answers_a_resource_table_of_an_accelerated_client(accelerated: Any, no_network: list[Any]) -> None:
    table = boto3.resource("dynamodb", region_name=REGION, endpoint_url=NOWHERE).Table("t")
    with Stubber(table.meta.client) as stub:
        stub.add_response("get_item", {"Item": {"pk": {"S": "a"}, "n": {"N": "2"}}},
                          {"TableName": "t", "Key": {"pk": "a"}})  # Stubber sees the resource's params
        assert table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "n": Decimal("2")}
        stub.assert_no_pending_responses()
    assert no_network == []


def test_any_before_send_handler_answers(accelerated: Any, no_network: list[Any]) -> None:
    """A user's own ``before-send`` double (a handler returning a response) is honoured too."""
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=NOWHERE)
    seen = []

    def answer(request: Any, **_kwargs: Any) -> AWSResponse:
        seen.append(request.headers["X-Amz-Target"])
        response = AWSResponse(request.url, 200, {"x-amzn-requestid": "r1"}, None)
        response._content = b'{"Item": {"pk": {"S": "z"}}}'
        return response

    client.meta.events.register("before-send.dynamodb", answer)
    assert client.get_item(TableName="t", Key={"pk": {"S": "z"}})["Item"] == {"pk": {"S": "z"}}
    assert seen == [b"DynamoDB_20120810.GetItem"] or seen == ["DynamoDB_20120810.GetItem"]
    assert no_network == []


def test_after_the_mock_the_client_is_fast_again(accelerated: Any, no_network: list[Any]) -> None:
    """Deferral is per call: once the mock ends the accelerated client sends through ddbkit again (here it
    cannot resolve or reach AWS: the failure comes from ddbkit's HTTP layer, as botocore's exception)."""
    from botocore.config import Config
    from botocore.exceptions import EndpointConnectionError

    client = boto3.client("dynamodb", region_name=REGION, config=Config(retries={"total_max_attempts": 1}))
    with mock_aws():
        _table(client)
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert client._ddbkit_engine is not None and no_network == []
    with pytest.raises((EndpointConnectionError, AssertionError)) as caught:
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert any("accelerate/http.py" in str(entry.path) for entry in caught.traceback)
