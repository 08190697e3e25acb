"""ddbkit.transport.sigv4 signs DynamoDB requests exactly as botocore's SigV4Auth does (byte for byte)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ddbkit.transport.wire import encode_request
from ddbkit.transport.sigv4 import CONTENT_TYPE, DynamoDBSigner, amz_date, host_header, signing_key

WHEN = datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)
BODY = encode_request({"TableName": "Orders", "Key": {"pk": {"S": "u1"}, "blob": {"B": b"\x00\xff"}},
                       "ConsistentRead": True})


def botocore_headers(monkeypatch: pytest.MonkeyPatch, url: str, target: str, body: bytes, creds: Credentials,
                     region: str) -> dict[str, str]:
    """What botocore sends for the same request at the same instant."""
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: WHEN.replace(tzinfo=None))
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": target})
    SigV4Auth(creds, "dynamodb", region).add_auth(request)
    return {k: v for k, v in request.headers.items()}


@pytest.mark.parametrize("url", ["https://dynamodb.eu-west-1.amazonaws.com", "http://127.0.0.1:8123",
                                 "http://LOCALHOST:80", "https://[::1]:8443"])
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEBYaDH+session/token=="])
def test_signature_matches_botocore_byte_for_byte(monkeypatch: pytest.MonkeyPatch, url: str,
                                                  token: str | None) -> None:
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    target = "DynamoDB_20120810.GetItem"
    expected = botocore_headers(monkeypatch, url, target, BODY, creds, "eu-west-1")
    signer = DynamoDBSigner(host_header(url), "eu-west-1")
    ours = signer.headers(target, BODY, creds.access_key, creds.secret_key, creds.token,
                          date=amz_date(WHEN.timestamp()))
    assert ours.pop("Host") == host_header(url)  # botocore leaves Host to the HTTP client
    assert ours == expected
    assert ("x-amz-security-token" in expected["Authorization"]) is (token is not None)


def test_host_header_follows_botocore_rules() -> None:
    assert host_header("https://dynamodb.us-east-1.amazonaws.com") == "dynamodb.us-east-1.amazonaws.com"
    assert host_header("https://dynamodb.us-east-1.amazonaws.com:443/") == "dynamodb.us-east-1.amazonaws.com"
    assert host_header("http://127.0.0.1:8000") == "127.0.0.1:8000"
    assert host_header("http://Example.COM:80") == "example.com"
    assert host_header("https://[::1]:8443") == "[::1]:8443"


def test_signing_key_is_cached_per_secret_date_and_region() -> None:
    signing_key.cache_clear()
    a = signing_key("secret", "20260304", "eu-west-1", "dynamodb")
    assert signing_key("secret", "20260304", "eu-west-1", "dynamodb") is a
    assert signing_key.cache_info().hits == 1
    assert signing_key("secret", "20260305", "eu-west-1", "dynamodb") != a
    assert signing_key("other", "20260304", "eu-west-1", "dynamodb") != a
    assert signing_key("secret", "20260304", "us-east-1", "dynamodb") != a


def test_a_different_body_or_time_changes_the_signature() -> None:
    signer = DynamoDBSigner("h", "us-east-1")
    base: dict[str, Any] = signer.headers("DynamoDB_20120810.PutItem", b"{}", "AK", "SK", date="20260304T050607Z")
    assert signer.headers("DynamoDB_20120810.PutItem", b"{ }", "AK", "SK",
                          date="20260304T050607Z")["Authorization"] != base["Authorization"]
    later = signer.headers("DynamoDB_20120810.PutItem", b"{}", "AK", "SK", date="20260304T050608Z")
    assert later["Authorization"] != base["Authorization"] and later["X-Amz-Date"] == "20260304T050608Z"
    assert amz_date(0) == "19700101T000000Z"
