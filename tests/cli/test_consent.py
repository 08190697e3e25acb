"""Consent and Ctrl-C (issue #23): nothing destructive or disruptive without a yes or --yes.

The CLI runs as a subprocess against moto's server, as a person runs it: under a real pseudo-terminal
(answering y or n at the prompt) and under pipes (stdin not a terminal; stdout through ``| cat``, as in
``ddbkit destroy ... | tee log``). Without a terminal and without --yes, destroy, a disruptive apply and
backup prune refuse with exit 2 and one ``error:`` line naming --yes. Ctrl-C during apply prints ONE
``error:`` line saying what was done and what was not, exits 130, and running apply again converges.
"""

from __future__ import annotations

import http.client
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
CLI = [sys.executable, "-m", "ddbkit_infra.cli"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "AWS_REGION": REGION, "NO_COLOR": "1", "TERM": "dumb"}


def _component(tmp_path: Path, table: str, gsi_projection: str | None = None) -> str:
    config: dict[str, Any] = {
        "tableName": table, "billingMode": "PAY_PER_REQUEST",
        "attributeDefinitions": [{"attributeName": "pk", "attributeType": "S"},
                                 {"attributeName": "g", "attributeType": "S"}],
        "keySchema": [{"attributeName": "pk", "keyType": "HASH"}]}
    if gsi_projection:
        config["globalSecondaryIndexes"] = [{"indexName": "ByG", "keySchema": [{"attributeName": "g", "keyType": "HASH"}],
                                             "projection": {"projectionType": gsi_projection}}]
    else:
        config["attributeDefinitions"] = config["attributeDefinitions"][:1]
    path = tmp_path / f"{table}-{gsi_projection}.yaml"
    path.write_text(yaml.safe_dump({"complianceFramework": "commercial", "components": [
        {"name": "orders", "type": "dynamodb-table", "config": config}]}))
    return str(path)


def _cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, **kwargs)


def _tables(endpoint: str) -> list[str]:
    return list(boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint).list_tables()["TableNames"])


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


@pytest.fixture
def applied(moto_server: Any, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A table applied on moto's server: (endpoint, component file, table name); deleted afterwards."""
    endpoint = moto_server.endpoint_url
    table = f"Consent{uuid.uuid4().hex[:8]}"
    path = _component(tmp_path, table)
    created = _cli("apply", path, "--endpoint-url", endpoint, "--poll", "0")  # harmless: goes on unattended
    assert created.returncode == 0, created.stderr
    yield endpoint, path, table
    if table in _tables(endpoint):
        boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint).delete_table(TableName=table)


def _pty_run(args: list[str], answer: str | None, *, shell_pipe: bool = False) -> tuple[int, str]:
    """Run the CLI with stdin (and stdout, unless ``shell_pipe``: then ``| cat``) on a pseudo-terminal;
    type ``answer`` at the first ``[y/N]``. Returns (exit code, everything shown)."""
    master, slave = pty.openpty()
    if shell_pipe:
        quoted = " ".join(f"'{a}'" for a in [*CLI, *args])
        cmd: list[str] = ["bash", "-c", f"{quoted} | cat; exit ${{PIPESTATUS[0]}}"]
    else:
        cmd = [*CLI, *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    out = b""
    answered = answer is None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if not answered and b"[y/N]" in out:
                os.write(master, answer.encode() + b"\r")  # type: the terminal turns CR into NL
                answered = True
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=30), out.decode(errors="replace")


# --- destroy ------------------------------------------------------------------------------------------------
def test_destroy_on_a_terminal_asks_and_no_keeps_the_table(applied: tuple[str, str, str]) -> None:
    endpoint, path, table = applied
    code, shown = _pty_run(["destroy", path, "--endpoint-url", endpoint, "--poll", "0"], "n")
    assert "[y/N]" in shown and code == 1, shown
    assert "cancelled, nothing changed" in shown and table in _tables(endpoint)


def test_destroy_on_a_terminal_yes_deletes(applied: tuple[str, str, str]) -> None:
    endpoint, path, table = applied
    code, shown = _pty_run(["destroy", path, "--endpoint-url", endpoint, "--poll", "0"], "y")
    assert code == 0, shown
    assert table not in _tables(endpoint)


def test_destroy_with_stdin_not_a_terminal_refuses(applied: tuple[str, str, str]) -> None:
    endpoint, path, table = applied
    refused = _cli("destroy", path, "--endpoint-url", endpoint, "--poll", "0")
    assert refused.returncode == 2, refused.stderr
    assert _error_lines(refused.stderr) == [f"error: destroy {table}: refused: no terminal to ask on (stdin or "
                                            "stdout is not one); pass --yes to proceed"]
    assert table in _tables(endpoint)
    done = _cli("destroy", path, "--endpoint-url", endpoint, "--poll", "0", "--yes")
    assert done.returncode == 0, done.stderr
    assert table not in _tables(endpoint)


def test_destroy_piped_to_tee_refuses(applied: tuple[str, str, str]) -> None:
    """stdin IS a terminal, stdout is a pipe (``| tee log``): no one sees a question, so none is asked."""
    endpoint, path, table = applied
    code, shown = _pty_run(["destroy", path, "--endpoint-url", endpoint, "--poll", "0"], None, shell_pipe=True)
    assert code == 2, shown
    assert "pass --yes to proceed" in shown and "[y/N]" not in shown
    assert table in _tables(endpoint)


# --- apply --------------------------------------------------------------------------------------------------
def test_disruptive_apply_needs_consent(moto_server: Any, tmp_path: Path) -> None:
    endpoint = moto_server.endpoint_url
    table = f"Consent{uuid.uuid4().hex[:8]}"
    try:
        assert _cli("apply", _component(tmp_path, table, "KEYS_ONLY"), "--endpoint-url", endpoint,
                    "--poll", "0").returncode == 0
        rebuilt = _component(tmp_path, table, "ALL")  # a projection change: the index is deleted and rebuilt
        refused = _cli("apply", rebuilt, "--endpoint-url", endpoint, "--poll", "0")
        assert refused.returncode == 2, refused.stderr
        [line] = _error_lines(refused.stderr)
        assert "index ByG" in line and "pass --yes to proceed" in line
        assert _cli("plan", rebuilt, "--endpoint-url", endpoint, "--detailed-exitcode").returncode == 2  # unchanged
        code, shown = _pty_run(["apply", rebuilt, "--endpoint-url", endpoint, "--poll", "0"], "n")
        assert code == 1 and "cancelled, nothing changed" in shown, shown
        code, shown = _pty_run(["apply", rebuilt, "--endpoint-url", endpoint, "--poll", "0"], "y")
        assert code == 0, shown
        assert _cli("plan", rebuilt, "--endpoint-url", endpoint, "--detailed-exitcode").returncode == 0
    finally:
        _cli("destroy", _component(tmp_path, table), "--endpoint-url", endpoint, "--poll", "0", "--yes")


class _HoldingProxy:
    """Forwards every request to ``upstream``, except that the first one whose body contains ``marker`` is
    held (``held`` is set) until :meth:`release`: a slow step to press Ctrl-C in."""

    def __init__(self, upstream: str, marker: bytes) -> None:
        target = urlsplit(upstream)
        self.held = threading.Event()
        self._release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if marker in body and not proxy.held.is_set():
                    proxy.held.set()
                    proxy._release.wait(60)
                conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for k, v in reply.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_POST = do_GET = do_PUT = do_DELETE = _forward  # noqa: N815 - http.server's names

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def release(self) -> None:
        self._release.set()

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


def test_ctrl_c_during_apply_says_what_was_done_and_a_rerun_converges(moto_server: Any, tmp_path: Path) -> None:
    endpoint = moto_server.endpoint_url
    table = f"Consent{uuid.uuid4().hex[:8]}"
    path = _component(tmp_path, table)
    proxy = _HoldingProxy(endpoint, b"PutMetricAlarm")  # the table is created, then the alarms hang
    try:
        proc = subprocess.Popen([*CLI, "apply", path, "--endpoint-url", proxy.endpoint_url, "--poll", "0"],
                                cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proxy.held.wait(60), "apply never reached its alarms"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proxy.stop()
    assert proc.returncode == 130, (out, err)
    lines = _error_lines(err)
    assert len(lines) == 1 and "Aborted!" not in err and "Traceback" not in err, err
    line = lines[0]
    assert line.startswith(f"error: apply {path}: interrupted (Ctrl-C): done: {table}: dynamodb.create_table")
    assert f"not done: {table}: cloudwatch.put_metric_alarm" in line and "run the same command again" in line
    assert table in _tables(endpoint)
    again = _cli("apply", path, "--endpoint-url", endpoint, "--poll", "0")
    assert again.returncode == 0, again.stderr
    assert _cli("plan", path, "--endpoint-url", endpoint, "--detailed-exitcode").returncode == 0
    _cli("destroy", path, "--endpoint-url", endpoint, "--poll", "0", "--yes")
