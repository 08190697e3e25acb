"""Parity rows over the wire: each transport sends to a capture server; plain boto3 is the reference.

Every row asserts, against boto3 doing the same: the path, the signed identity (access key, region and
service of the credential scope, and a signature botocore's SigV4Auth accepts) and the outcome.
Issue 13 items: 1 (default session), 2 (redirects), 4 (proxy auth), 5 (``__type`` suffix), 6 (endpoint
path), 8 (botocore Session), 9 (app id, trace id, invocation id, Config), plus credentials sources,
CA bundle, keep-alive after server close and every DynamoDB error shape.
"""

from __future__ import annotations

import datetime
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from parity_harness import (
    GET,
    WIRE_TRANSPORTS,
    CaptureServer,
    Captured,
    ProxyServer,
    Reply,
    boto3_send,
    identity,
    send,
    send_all,
    signature_valid,
)

from ddbkit.errors import ConditionalCheckFailed, ThrottledError, TransactionCanceled



@pytest.fixture(params=WIRE_TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Every row here on ddbkit's four transports and on an accelerated boto3 client (issue 27)."""
    return str(request.param)


SECRETS = {"testing": "testing", "AKENV": "senv", "AKP1": "sp1", "AKP2": "sp2", "AKPROC": "sproc", "AKCONT": "scont"}


def _secret(access_key: str) -> str:
    return "srole" if access_key.startswith("AKROLE") else SECRETS[access_key]


def _one(capture: CaptureServer, run: Callable[[], Any]) -> tuple[Any, Captured]:
    before = len(capture.requests)
    result = run()
    new = capture.requests[before:]
    assert len(new) == 1, [c.path for c in new]
    return result, new[0]


def _same_as_boto3(capture: CaptureServer, transport: str, **kwargs: Any) -> tuple[Captured, Captured]:
    """Send GetItem with ``transport`` and with boto3; assert same path, identity, valid signature, outcome."""
    ours, mine = _one(capture, lambda: send(transport, *GET, **kwargs))
    ref, theirs = _one(capture, lambda: boto3_send(*GET, **kwargs))
    assert mine.path == theirs.path
    assert identity(mine) == identity(theirs)
    assert signature_valid(mine, _secret(identity(mine)[0]), capture.url)
    assert signature_valid(theirs, _secret(identity(theirs)[0]), capture.url)
    assert (ours.ok, ours.code) == (ref.ok, ref.code)
    return mine, theirs


# --------------------------------------------------------------------------------------------------
# credentials: env, profile, default session (item 1), credential_process, container URI
# --------------------------------------------------------------------------------------------------

PROFILES = """
[default]
region = us-west-1
[profile p1]
region = eu-west-2
[profile p2]
region = ap-south-1
[profile proc]
region = ca-central-1
credential_process = {python} {script}
"""
CREDENTIALS = """
[default]
aws_access_key_id = AKDEFAULT
aws_secret_access_key = sdefault
[p1]
aws_access_key_id = AKP1
aws_secret_access_key = sp1
[p2]
aws_access_key_id = AKP2
aws_secret_access_key = sp2
"""


@pytest.fixture
def profiles(aws_files: Callable[..., None], tmp_path: Path) -> None:
    script = tmp_path / "creds.py"
    script.write_text('import json; print(json.dumps({"Version": 1, "AccessKeyId": "AKPROC", '
                      '"SecretAccessKey": "sproc", "SessionToken": "tproc"}))\n')
    aws_files(config=PROFILES.format(python=sys.executable, script=script), credentials=CREDENTIALS)


def test_env_credentials(capture: CaptureServer, transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "senv")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    monkeypatch.delenv("AWS_SECURITY_TOKEN")
    mine, _ = _same_as_boto3(capture, transport, endpoint_url=capture.url)
    assert identity(mine) == ("AKENV", "us-east-1", "dynamodb")


@pytest.mark.usefixtures("profiles", "no_env_keys")
@pytest.mark.parametrize("profile,key,region", [("p1", "AKP1", "eu-west-2"), ("proc", "AKPROC", "ca-central-1")])
def test_profile_credentials(capture: CaptureServer, transport: str, monkeypatch: pytest.MonkeyPatch,
                             profile: str, key: str, region: str) -> None:
    """AWS_PROFILE with static keys, and with credential_process."""
    monkeypatch.setenv("AWS_PROFILE", profile)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    mine, _ = _same_as_boto3(capture, transport, endpoint_url=capture.url)
    assert identity(mine) == (key, region, "dynamodb")


@pytest.mark.usefixtures("profiles")
def test_default_session_profile_is_used(capture: CaptureServer, transport: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 1: boto3.setup_default_session(profile_name=...) decides identity and region for every transport
    (the env's keys and region would win otherwise)."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    boto3.setup_default_session(profile_name="p2")
    mine, _ = _same_as_boto3(capture, transport, endpoint_url=capture.url)
    assert identity(mine) == ("AKP2", "ap-south-1", "dynamodb")


@pytest.mark.usefixtures("no_env_keys")
def test_container_credentials(capture: CaptureServer, transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = CaptureServer()
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    creds.responder = lambda c: Reply(body={"AccessKeyId": "AKCONT", "SecretAccessKey": "scont", "Token": "tc",
                                            "Expiration": expires}, crc=False)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{creds.url}/creds")
    try:
        mine, _ = _same_as_boto3(capture, transport, endpoint_url=capture.url)
    finally:
        creds.close()
    assert identity(mine)[0] == "AKCONT" and mine.headers["x-amz-security-token"] == "tc"
    assert creds.requests and creds.requests[0].path == "/creds"


ASSUME_ROLE = """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>srole</SecretAccessKey><SessionToken>t{n}</SessionToken>
<Expiration>{expires}</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn><AssumedRoleId>AROA1:s</AssumedRoleId>
</AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>"""


@pytest.mark.usefixtures("no_env_keys")
def test_assume_role_with_refresh(capture: CaptureServer, transport: str, aws_files: Callable[..., None],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A role profile (source_profile): credentials from STS (a local stand-in), refreshed when they near
    expiry. Each STS answer expires in 5 minutes (inside botocore's mandatory refresh window), so every
    call refreshes: two calls are signed with two successive role keys, on every transport as on boto3."""
    aws_files(config="[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = p1\n"
                     "region = eu-west-1\n", credentials=CREDENTIALS)
    sts = CaptureServer()
    issued: list[str] = []

    def assume_role(c: Captured) -> Reply:
        assert b"Action=AssumeRole" in c.body and identity(c)[0] == "AKP1"
        issued.append(f"AKROLE{len(issued) + 1}")
        expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        return Reply(body=ASSUME_ROLE.format(key=issued[-1], n=len(issued), expires=expires).encode(), crc=False,
                     content_type="text/xml")

    sts.responder = assume_role
    monkeypatch.setenv("AWS_PROFILE", "role")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    try:
        outcomes = send_all(transport, [GET, GET], endpoint_url=capture.url)
        mine = capture.requests[-2:]
        assert [o.ok for o in outcomes] == [True, True]
        keys = [identity(c)[0] for c in mine]
        assert all(k.startswith("AKROLE") for k in keys) and keys[0] != keys[1]  # refreshed between calls
        assert all(identity(c)[1] == "eu-west-1" and signature_valid(c, "srole", capture.url) for c in mine)
        issued.clear()
        client = boto3.Session().client("dynamodb", endpoint_url=capture.url)
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})
        ref = [identity(c)[0] for c in capture.requests[-2:]]
        assert all(k.startswith("AKROLE") for k in ref) and ref[0] != ref[1]  # boto3 does the same
    finally:
        sts.close()


def test_botocore_session_works_on_control_plane(capture: CaptureServer, transport: str) -> None:
    """Item 8: a botocore Session as session= works for control-plane calls (DescribeTable) too."""
    import botocore.session

    if transport == "aioboto3":
        pytest.skip("aioboto3 takes an aioboto3 Session, not a botocore one (as aioboto3 itself)")
    capture.responder = lambda c: Reply(body={"Table": {"TableName": "t"}})
    session = botocore.session.Session()
    out = send(transport, "DescribeTable", {"TableName": "t"}, session=session, endpoint_url=capture.url)
    assert out.ok and out.response == {"Table": {"TableName": "t"}}
    got = send(transport, *GET, session=session, endpoint_url=capture.url)
    assert got.ok


# --------------------------------------------------------------------------------------------------
# headers (item 9): app id, Lambda trace id, invocation id; endpoint path (item 6)
# --------------------------------------------------------------------------------------------------


def test_user_agent_app_id_from_env(capture: CaptureServer, transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SDK_UA_APP_ID", "orders-svc")
    mine, theirs = _same_as_boto3(capture, transport, endpoint_url=capture.url)
    assert "app/orders-svc" in theirs.headers["user-agent"]
    assert "app/orders-svc" in mine.headers["user-agent"]


def test_user_agent_app_id_from_config(capture: CaptureServer, transport: str) -> None:
    mine, theirs = _same_as_boto3(capture, transport, endpoint_url=capture.url,
                                  config=Config(user_agent_appid="cfg-app"))
    assert "app/cfg-app" in theirs.headers["user-agent"] and "app/cfg-app" in mine.headers["user-agent"]


def test_lambda_trace_id_and_invocation_id(capture: CaptureServer, transport: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    mine, theirs = _same_as_boto3(capture, transport, endpoint_url=capture.url)
    assert mine.headers["x-amzn-trace-id"] == theirs.headers["x-amzn-trace-id"]
    assert len(mine.headers["amz-sdk-invocation-id"]) == len(theirs.headers["amz-sdk-invocation-id"]) == 36


def test_no_trace_header_outside_lambda(capture: CaptureServer, transport: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793")
    mine, theirs = _same_as_boto3(capture, transport, endpoint_url=capture.url)
    assert "x-amzn-trace-id" not in theirs.headers and "x-amzn-trace-id" not in mine.headers


@pytest.mark.parametrize("path", ["/prefix", "/a/b/"])
def test_endpoint_path_is_kept(capture: CaptureServer, transport: str, path: str) -> None:
    """Item 6: http://host/prefix sends (and signs) POST /prefix, as boto3."""
    mine, theirs = _same_as_boto3(capture, transport, endpoint_url=capture.url + path)
    assert mine.path == theirs.path == path


# --------------------------------------------------------------------------------------------------
# every DynamoDB error shape (item 5: __type with a :suffix)
# --------------------------------------------------------------------------------------------------

NS = "com.amazonaws.dynamodb.v20120810#"
ERRORS: list[tuple[int, Any, type[BaseException] | None]] = [
    (400, {"__type": NS + "ProvisionedThroughputExceededException", "message": "slow"}, ThrottledError),
    (400, {"__type": "com.amazon.coral.availability#ThrottlingException:http://internal.amazon.com/coral/"
                     "com.amazon.coral.availability/", "message": "Rate exceeded"}, ThrottledError),
    (400, {"__type": "ThrottlingException:http://internal.amazon.com/", "message": "x"}, ThrottledError),
    (400, {"__type": NS + "RequestLimitExceeded", "message": "x"}, ThrottledError),
    (400, {"__type": NS + "ResourceNotFoundException", "message": "Requested resource not found"}, None),
    (400, {"__type": NS + "ConditionalCheckFailedException", "message": "The conditional request failed",
           "Item": {"pk": {"S": "a"}}}, ConditionalCheckFailed),
    (400, {"__type": NS + "TransactionCanceledException", "Message": "Transaction cancelled",
           "CancellationReasons": [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "c"}]},
     TransactionCanceled),
    (400, {"__type": "com.amazon.coral.validate#ValidationException", "message": "bad"}, None),
    (400, {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": "denied"}, None),
    (400, {"__type": "com.amazon.coral.service#UnrecognizedClientException", "message": "bad token"}, None),
    (400, {"__type": NS + "ItemCollectionSizeLimitExceededException", "message": "x"}, None),
    (500, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "x"}, None),
    (503, b"", None),
    (502, b"<html><body>Bad Gateway</body></html>", None),
]


@pytest.mark.parametrize("status,body,cls", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_error_shapes(capture: CaptureServer, transport: str, status: int, body: Any,
                      cls: type[BaseException] | None) -> None:
    capture.responder = lambda c: Reply(status, body)
    mine, theirs = _same_as_boto3(capture, transport, endpoint_url=capture.url)
    ours = send(transport, *GET, endpoint_url=capture.url)
    assert not ours.ok
    if cls is not None:
        assert isinstance(ours.error, cls)
    if cls is ThrottledError:
        assert ours.error is not None and ours.error.retryable  # type: ignore[attr-defined]
    if status >= 500:
        assert ours.error is not None and ours.error.retryable  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# redirects (item 2), keep-alive after server close
# --------------------------------------------------------------------------------------------------


def test_redirect_is_an_error_not_followed(capture: CaptureServer, transport: str) -> None:
    elsewhere = CaptureServer()
    try:
        capture.responder = lambda c: Reply(307, b"", headers={"Location": elsewhere.url + "/"})
        ours = send(transport, *GET, endpoint_url=capture.url)
        ref = boto3_send(*GET, endpoint_url=capture.url)
        assert not ours.ok and not ref.ok and ours.code == ref.code == "307"
        assert elsewhere.requests == []  # the body and the security token never went to another host
    finally:
        elsewhere.close()


@pytest.mark.parametrize("announce", [True, False], ids=["connection-close", "silent-close"])
def test_keep_alive_after_server_close(capture: CaptureServer, transport: str, announce: bool) -> None:
    """The server closes the connection after a reply (with or without saying so): the next call on the
    same transport opens a new connection and succeeds, as with boto3."""

    def close_after(c: Captured) -> Reply:
        return Reply(body={"Item": {"pk": {"S": "a"}}}, close=True, announce=announce)

    capture.responder = close_after
    outcomes = send_all(transport, [GET, GET, GET], pause=0.1, endpoint_url=capture.url)
    assert [o.ok for o in outcomes] == [True, True, True]
    assert capture.connections >= 3


# --------------------------------------------------------------------------------------------------
# proxies with auth (item 4), CA bundle, Config (item 9)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["env", "config"])
def test_authenticated_proxy(capture: CaptureServer, transport: str, monkeypatch: pytest.MonkeyPatch,
                             caplog: pytest.LogCaptureFixture, via: str) -> None:
    proxy = ProxyServer("alice", "s3cr3t-pw")
    try:
        config = None
        if via == "env":
            monkeypatch.setenv("HTTP_PROXY", proxy.url("alice", "s3cr3t-pw"))
        else:
            config = Config(proxies={"http": proxy.url("alice", "s3cr3t-pw")})
        with caplog.at_level(logging.DEBUG, logger="ddbkit"):
            mine, _ = _same_as_boto3(capture, transport, endpoint_url=capture.url, config=config)
        assert identity(mine)[0] == "testing"
        ours = [line for line in proxy.lines if line.startswith("POST ")]
        assert len(ours) == 2 and all(line.startswith(f"POST {capture.url}/ HTTP/1.1") for line in ours)
        assert proxy.auth[-1] == proxy.expected and proxy.auth[-2] == proxy.expected
        assert "s3cr3t-pw" not in caplog.text
    finally:
        proxy.close()


def test_proxy_rejection_names_no_credentials(transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy that refuses: an error, and the proxy password appears in no error message."""
    proxy = ProxyServer("alice", "right")
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url("alice", "wrong-pw"))
        ours = send(transport, *GET, endpoint_url="http://127.0.0.1:9")
        assert not ours.ok and "wrong-pw" not in str(ours.error)
    finally:
        proxy.close()


def _self_signed(tmp_path: Path) -> tuple[str, str]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return str(certfile), str(keyfile)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return _self_signed(tmp_path_factory.mktemp("tls"))


def test_ca_bundle(tls_files: tuple[str, str], transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An untrusted certificate fails on every transport, as on boto3; AWS_CA_BUNDLE makes it trusted."""
    server = CaptureServer(*tls_files)
    try:
        untrusted, ref = send(transport, *GET, endpoint_url=server.url), boto3_send(*GET, endpoint_url=server.url)
        assert not untrusted.ok and not ref.ok and server.requests == []
        monkeypatch.setenv("AWS_CA_BUNDLE", tls_files[0])
        mine, theirs = _same_as_boto3(server, transport, endpoint_url=server.url)
        assert mine.path == theirs.path == "/"
    finally:
        server.close()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("verify", ["bundle", False], ids=["verify-bundle", "verify-false"])
def test_verify_argument(tls_files: tuple[str, str], transport: str, verify: Any) -> None:
    """verify= (a CA bundle path, or False), as boto3.client(verify=...): item 9's TLS verification."""
    server = CaptureServer(*tls_files)
    try:
        _same_as_boto3(server, transport, endpoint_url=server.url, verify=tls_files[0] if verify else False)
    finally:
        server.close()


def test_config_read_timeout(capture: CaptureServer, transport: str) -> None:
    """Config(read_timeout=...) is honoured: a reply slower than it fails, as on boto3."""

    def slow(c: Captured) -> Reply:
        time.sleep(0.6)
        return Reply()

    capture.responder = slow
    config = Config(read_timeout=0.2, connect_timeout=1)
    ours, ref = send(transport, *GET, endpoint_url=capture.url, config=config), boto3_send(
        *GET, endpoint_url=capture.url, config=config)
    assert not ours.ok and not ref.ok
    assert ours.error is not None and ours.error.retryable  # type: ignore[attr-defined]


def test_config_pool_size_is_used() -> None:
    from ddbkit.transport.fast import AsyncFastTransport, FastTransport

    fast = FastTransport(endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                         config=Config(max_pool_connections=3, connect_timeout=2, read_timeout=7))
    fast._setup()
    assert fast._pool.pool.maxsize == 3 and fast._timeout.read_timeout == 7 and fast._timeout.connect_timeout == 2
    fast.close()
    opts = AsyncFastTransport(config=Config(max_pool_connections=5))._options
    assert opts.max_pool == 5


def test_connection_refused_names_the_host(transport: str) -> None:
    """Nothing listening: a retryable ConnectionFailed whose message names the host, never an object repr."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    ours, ref = send(transport, *GET, endpoint_url=f"http://127.0.0.1:{port}"), boto3_send(
        *GET, endpoint_url=f"http://127.0.0.1:{port}")
    assert not ours.ok and not ref.ok
    assert ours.error is not None and ours.error.retryable  # type: ignore[attr-defined]
    assert "127.0.0.1" in str(ours.error) and "object at 0x" not in str(ours.error)
