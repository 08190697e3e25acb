"""Issue 23 item 4: every example applies and settles on ``ddbkit local`` (moto's server), as a newcomer runs it.

Drives the real CLI (click's CliRunner) against the ``moto_server`` fixture, with nothing emulated in front
of moto: ``apply --skip-unsupported --yes`` succeeds (global table replicas, which moto does not emulate,
are reported as skipped in ONE line and nothing of them is half applied), ``plan --detailed-exitcode`` is 0
right after, and ``audit`` reports the asked-for table only, saying "not checked locally" for what moto
cannot answer (never a failure, never a 500).

The three examples are applied to the same server (as a person trying them one after another does), so
each audit also checks it does not report the other examples' tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from example_files import example_path, example_tables

from ddbkit_infra.cli import cli
from ddbkit_infra.local import MotoServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["session-store", "iot-time-series", "global-leaderboard"]
_path, _tables = example_path, example_tables


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def applied(moto_server: MotoServer) -> Any:
    """Every example applied, one after another, to one fresh moto server: ``{example: result}``."""
    moto_server.reset()
    out = {ex: _run("apply", _path(ex), "--endpoint-url", moto_server.endpoint_url, "--skip-unsupported", "--yes",
                    "--poll", "0") for ex in EXAMPLES}
    yield out
    moto_server.reset()


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_applies_on_ddbkit_local(applied: dict[str, Any], example: str) -> None:
    result = applied[example]
    assert result.exit_code == 0, result.output
    assert not [line for line in result.output.splitlines() if line.startswith("error")], result.output
    for table in _tables(example):
        assert f"{table}: made " in result.output, result.output
    if example == "global-leaderboard":
        lines = [line for line in result.output.splitlines() if "replica" in line and "skipped" in line]
        assert lines == ["skipped global table replicas in us-west-2, eu-west-1 and their settings: this endpoint "
                         "does not emulate global tables (a local backend)"], result.output
        assert "[us-west-2]: dynamodb.update_continuous_backups" not in result.output  # nothing half applied


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_plan_settles_right_after_apply(applied: dict[str, Any], moto_server: MotoServer,
                                                example: str) -> None:
    assert applied[example].exit_code == 0, applied[example].output
    result = _run("plan", _path(example), "--endpoint-url", moto_server.endpoint_url, "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "0 to create, 0 to update, 0 to delete" in result.output
    assert "+ create" not in result.output and "<unknown>" not in result.output


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_audit_reports_its_table_only_and_what_is_not_checked_locally(
        applied: dict[str, Any], moto_server: MotoServer, example: str) -> None:
    assert applied[example].exit_code == 0, applied[example].output
    result = _run("audit", _path(example), "--endpoint-url", moto_server.endpoint_url)
    out = result.output
    assert result.exit_code == 0, out
    assert "500" not in out and "<html" not in out.lower() and "FAIL " not in out, out
    mine = _tables(example)
    for table in mine:
        assert f"Audit of {table} in us-east-1" in out
    for other in EXAMPLES:
        if other != example:
            for table in _tables(other):
                assert table not in out, out  # e.g. SensorData's audit listed UserSessions' backup plan
    backup = next(line for line in out.splitlines() if "DynamoDB.4" in line)
    assert backup.split()[0] == "SKIP" and "not checked locally" in backup, out
    if example == "global-leaderboard":
        for control in ("global table replicas", "contributor insights"):
            line = next(line for line in out.splitlines() if control in line)
            assert line.split()[0] == "SKIP" and "not checked locally" in line, out


def test_replicas_on_a_backend_without_global_tables_stop_apply_with_one_line_unless_skipped(
        moto_server: MotoServer, tmp_path: Path) -> None:
    """Without --skip-unsupported, apply stops at the first replica with the reason (not TableNotFound at the
    replica's settings); nothing is done in the replica regions."""
    text = Path(_path("global-leaderboard")).read_text().replace("tableName: GlobalLeaderboard",
                                                                 "tableName: ReplicaProbe")
    # commercial: no contributor insights (moto lacks them too, and they come before the replicas)
    text = text.replace("complianceFramework: fedramp-high", "complianceFramework: commercial")
    path = tmp_path / "component.yaml"
    path.write_text(text)
    result = _run("apply", str(path), "--endpoint-url", moto_server.endpoint_url, "--yes", "--poll", "0",
                  "--component", "leaderboard")
    assert result.exit_code == 1, result.output
    [error] = [line for line in result.output.splitlines() if line.startswith("error")]
    assert "does not emulate global tables" in error and "--skip-unsupported" in error, error
    assert "TableNotFound" not in result.output
