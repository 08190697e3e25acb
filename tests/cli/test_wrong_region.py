"""Issue 23 item 7: a wrong region or endpoint gives ONE line naming the region and the endpoint and saying to
check the region; a server's HTML error page is never printed.

moto's server answers a request signed for a region it does not know (``xx-nowhere-1``) with its HTML 500
page; a region with no AWS endpoint cannot be connected to. Both are checked on every transport (fast sync,
fast async, botocore, aioboto3) and through the CLI, with and without ``--endpoint-url``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from click.testing import CliRunner

from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.errors import DynamoDBError

from ddbkit.core.retry import RetryPolicy
from ddbkit_infra.cli import cli
from ddbkit_infra.local import MotoServer, free_port

ROOT = Path(__file__).resolve().parents[2]
REGION = "xx-nowhere-1"
HTML = (b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n"
        b"<p>The server encountered an internal error and was unable to complete your request.</p>\n")


class _Html500(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(500)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(HTML)))
        self.end_headers()
        self.wfile.write(HTML)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def html500() -> Iterator[str]:
    """A server answering every request with an HTML 500 page (what moto does for a region it does not know)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Html500)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


ONCE = RetryPolicy(max_attempts=1)
NO_BOTO_RETRY = Config(retries={"total_max_attempts": 1})
TRANSPORTS = ["fast", "botocore", "fast-async", "aioboto3"]


def _get(transport: str, endpoint: str) -> DynamoDBError:
    """The error of one GetItem through ``transport`` at ``endpoint`` in REGION."""
    if transport in ("fast", "botocore"):
        table = Table("Things", key="pk", region_name=REGION, endpoint_url=endpoint, transport=transport, retry=ONCE,
                      config=NO_BOTO_RETRY)
        with pytest.raises(DynamoDBError) as caught:
            table.get({"pk": "a"})
        return caught.value

    async def run() -> DynamoDBError:
        table = AsyncTable("Things", key="pk", region_name=REGION, endpoint_url=endpoint, retry=ONCE,
                           transport="fast" if transport == "fast-async" else "botocore", config=NO_BOTO_RETRY)
        try:
            await table.get({"pk": "a"})
        except DynamoDBError as err:
            return err
        finally:
            await table.close()
        raise AssertionError("no error")

    return asyncio.run(run())


def _one_line_naming_region_and_endpoint(text: str, endpoint: str) -> None:
    assert "\n" not in text.strip(), text
    assert "<html" not in text.lower() and "doctype" not in text.lower() and "Internal Server Error" not in text
    assert REGION in text and endpoint in text and "check the region" in text, text


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_html_error_page_is_never_the_message_on_any_transport(html500: str, transport: str) -> None:
    err = _get(transport, html500)
    _one_line_naming_region_and_endpoint(str(err), html500)
    assert "<html" not in repr(err.response).lower()  # not kept for a log line either


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unreachable_endpoint_names_region_and_endpoint_on_any_transport(transport: str) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    err = _get(transport, endpoint)
    _one_line_naming_region_and_endpoint(str(err), endpoint)


# --------------------------------------------------------------------------------------------------
# the CLI
# --------------------------------------------------------------------------------------------------


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("command", ["plan", "audit", "apply"])
def test_cli_wrong_region_with_endpoint_is_one_line_without_the_html(moto_server: MotoServer, command: str) -> None:
    path = str(ROOT / "examples/session-store/component.yaml")
    extra = ["--yes", "--skip-unsupported"] if command == "apply" else []
    result = _cli(command, path, "--region", REGION, "--endpoint-url", moto_server.endpoint_url, *extra)
    assert result.exit_code == 1, result.output
    [line] = [x for x in result.output.splitlines() if x.strip()]
    assert line.startswith("error: ")
    _one_line_naming_region_and_endpoint(line, moto_server.endpoint_url)


def test_cli_wrong_region_without_endpoint_says_to_check_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no AWS here: fail at once
    result = _cli("plan", str(ROOT / "examples/session-store/component.yaml"), "--region", REGION)
    assert result.exit_code == 1, result.output
    [line] = [x for x in result.output.splitlines() if x.strip()]
    _one_line_naming_region_and_endpoint(line, f"https://dynamodb.{REGION}.amazonaws.com")
