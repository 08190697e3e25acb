"""The console's safety rules without a DynamoDB: loopback by default, the token off loopback, the Host
check, CSRF on every POST, read-only against AWS, and what the command prints at start."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from ddbkit_infra.console import ConsoleSettings, ConsoleState, create_app
from ddbkit_infra.console.guard import SESSION_COOKIE, TOKEN_COOKIE, csrf_token
from ddbkit_infra.console.state import is_loopback_endpoint

DOWN = "http://127.0.0.1:9"  # nothing listens: pages that call it show the error inline


def client(settings: ConsoleSettings, base: str = "http://127.0.0.1:8008") -> tuple[TestClient, ConsoleState]:
    state = ConsoleState(settings)
    return TestClient(create_app(state), base_url=base, follow_redirects=False), state


def test_loopback_needs_no_token_any_other_host_gets_a_fresh_one() -> None:
    assert ConsoleSettings().host == "127.0.0.1" and ConsoleSettings().token is None
    assert ConsoleSettings.for_host("localhost").token is None
    a, b = ConsoleSettings.for_host("0.0.0.0").token, ConsoleSettings.for_host("0.0.0.0").token
    assert a and b and a != b and len(a) >= 32


def test_the_token_sets_a_cookie_and_nothing_is_served_without_it() -> None:
    web, _ = client(ConsoleSettings(host="0.0.0.0", token="t" * 32, endpoint_url=DOWN), "http://10.1.2.3:8008")
    refused = web.get("/")
    assert refused.status_code == 403 and "token" in refused.text and refused.text.count("\n") == 0
    assert web.get("/static/console.css").status_code == 403
    assert web.get("/?token=wrong").status_code == 403
    entered = web.get("/tables/x?mode=scan&token=" + "t" * 32)
    assert entered.status_code == 303 and entered.headers["location"] == "/tables/x?mode=scan"
    assert f"{TOKEN_COOKIE}={'t' * 32}" in entered.headers["set-cookie"]
    assert "HttpOnly" in entered.headers["set-cookie"] and "SameSite=Strict" in entered.headers["set-cookie"]
    assert web.get("/").status_code == 200  # the cookie now


def test_a_loopback_console_refuses_other_host_names() -> None:
    web, _ = client(ConsoleSettings(endpoint_url=DOWN))
    assert web.get("/static/console.css").status_code == 200
    rebound = web.get("/static/console.css", headers={"host": "evil.example:8008"})
    assert rebound.status_code == 403 and "localhost" in rebound.text


def _session(web: TestClient) -> str:
    web.get("/static/console.css")
    return str(web.cookies[SESSION_COOKIE])


def test_every_post_needs_the_session_csrf_token() -> None:
    web, state = client(ConsoleSettings(endpoint_url=DOWN))
    session = _session(web)
    for path in ("/tables/t/item/save", "/tables/t/item/delete", "/tables/t/partiql"):
        assert web.post(path, data={"item": "{}"}).status_code == 403
        other = web.post(path, data={"csrf": csrf_token(state.csrf_secret, "another-session"), "item": "{}"})
        assert other.status_code == 403 and "CSRF" in other.text
    good = web.post("/tables/t/item/save", data={"csrf": csrf_token(state.csrf_secret, session), "item": "{"})
    assert good.status_code == 400 and "not valid JSON" in good.text  # past the check, refused on the input


@pytest.mark.parametrize(("endpoint", "allow", "writable"), [
    (None, False, False),  # AWS
    ("https://dynamodb.eu-west-1.amazonaws.com", False, False),
    ("http://10.0.0.5:8000", False, False),  # another machine: treated as AWS
    (None, True, True),
    ("http://127.0.0.1:8000", False, True),
    ("http://localhost:4566", False, True),
])
def test_read_only_against_aws_unless_allow_writes(endpoint: str | None, allow: bool, writable: bool) -> None:
    state = ConsoleState(ConsoleSettings(endpoint_url=endpoint, allow_writes=allow))
    assert state.writes_allowed is writable
    assert is_loopback_endpoint(endpoint) is (endpoint is not None and ("127.0.0.1" in endpoint or "localhost" in endpoint))


def test_writes_against_aws_are_refused_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    web, state = client(ConsoleSettings(endpoint_url=None, region="us-east-1"))

    def no_aws(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a refused write must not call AWS")

    monkeypatch.setattr(ConsoleState, "table", no_aws)
    monkeypatch.setattr(ConsoleState, "client", no_aws)
    csrf = csrf_token(state.csrf_secret, _session(web))
    for path in ("/tables/t/item/save", "/tables/t/item/delete"):
        res = web.post(path, data={"csrf": csrf, "item": '{"pk": "x"}'})
        assert res.status_code == 403 and "read-only against AWS" in res.text and "--allow-writes" in res.text


def test_partiql_writes_are_refused_when_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from ddbkit_infra.console import app as console_app

    web, state = client(ConsoleSettings(endpoint_url=None, region="us-east-1"))
    monkeypatch.setattr(console_app, "table_summary", lambda state, name: {"name": name, "exists": False,
                                                                           "status": "stub"})
    monkeypatch.setattr(ConsoleState, "client", lambda *a: pytest.fail("a refused statement must not be sent"))
    csrf = csrf_token(state.csrf_secret, _session(web))
    res = web.post("/tables/t/partiql", data={"csrf": csrf, "statement": "DELETE FROM \"t\" WHERE pk = 'a'"})
    assert "DELETE writes and the console is read-only" in res.text


def test_request_log_lines_carry_no_query_string(caplog: pytest.LogCaptureFixture) -> None:
    web, _ = client(ConsoleSettings(endpoint_url=DOWN))
    caplog.set_level(logging.INFO, logger="ddbkit.console")
    web.get("/tables/t?mode=query&pk=card-4111111111111111")
    assert any("GET /tables/t 200" in r.getMessage() for r in caplog.records)
    assert not any("4111" in r.getMessage() for r in caplog.records)


def test_console_command_prints_the_token_url_and_serves_loopback_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from ddbkit_infra.cli import cli

    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: runs.append(kw))
    local = CliRunner().invoke(cli, ["console", "--endpoint-url", "http://127.0.0.1:8000", "--region", "us-east-1"])
    assert local.exit_code == 0, local.output
    assert "http://127.0.0.1:8008/ " in local.output and "token" not in local.output and "read-write" in local.output
    assert runs[-1]["host"] == "127.0.0.1" and runs[-1]["access_log"] is False
    wide = CliRunner().invoke(cli, ["console", "--host", "0.0.0.0", "--port", "9000", "--region", "us-east-1"])
    assert wide.exit_code == 0, wide.output
    assert "http://0.0.0.0:9000/?token=" in wide.output and "read-only" in wide.output
    assert runs[-1]["host"] == "0.0.0.0" and runs[-1]["port"] == 9000


def test_console_without_its_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import ddbkit_infra.console as console_pkg
    from ddbkit_infra.cli import cli

    monkeypatch.setattr(console_pkg, "missing_extra", lambda: "starlette")
    result = CliRunner().invoke(cli, ["console", "--region", "us-east-1"])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: console: needs the 'starlette' package of the console extra: "
                                      "pip install 'ddbkit[console]'")
