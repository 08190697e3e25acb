"""The command line as a user meets it (issue 17): one region rule, one error format, exit codes, apply's
confirmation and warnings, progress while waiting, streams tail, and help that matches behaviour.

Runs against moto in-process (fast) and botocore errors injected where no emulator answers (access denied,
throttling).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import click
import pytest
import yaml
from click.testing import CliRunner
from moto_gaps import MotoGaps

from ddbkit_infra.cli import cli, ops_cmds, progress, provision_cmds

REGION = "us-east-1"

TABLE: dict[str, Any] = {
    "tableName": "Orders",
    "billingMode": "PAY_PER_REQUEST",
    "attributeDefinitions": [{"attributeName": "pk", "attributeType": "S"},
                             {"attributeName": "g", "attributeType": "S"}],
    "keySchema": [{"attributeName": "pk", "keyType": "HASH"}],
    "globalSecondaryIndexes": [{"indexName": "ByG", "keySchema": [{"attributeName": "g", "keyType": "HASH"}],
                                "projection": {"projectionType": "KEYS_ONLY"}}],
}


def component(tmp_path: Path, *tables: dict[str, Any], name: str = "component.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"complianceFramework": "commercial", "components": [
        {"name": t["tableName"].lower(), "type": "dynamodb-table", "config": t} for t in tables]}))
    return path


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=input)


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoGaps]:
    """moto in-process behind MotoGaps; the provisioning commands build their clients on it."""
    from moto import mock_aws

    with mock_aws():
        gaps = MotoGaps()
        monkeypatch.setattr(provision_cmds, "make_clients", lambda region, endpoint_url: gaps.clients(region))
        yield gaps


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                            click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, (*prefix, name))


# Every command that calls AWS, with the arguments it needs to get as far as the region rule.
AWS_COMMANDS: dict[tuple[str, ...], list[str]] = {
    ("plan",): ["FILE"], ("apply",): ["FILE"], ("destroy",): ["FILE"], ("audit",): ["--table", "Orders"],
    ("monitor",): ["--table", "Orders"], ("backup", "create"): ["--table", "Orders"],
    ("backup", "list"): ["--table", "Orders"],
    ("backup", "prune"): ["--table", "Orders", "--retention-days", "7"],
    ("backup", "restore"): ["--table", "Orders", "--target", "X", "--latest-backup"],
    ("backup", "export"): ["--table", "Orders", "--bucket", "b"],
    ("backup", "import"): ["--table", "Orders", "--bucket", "b", "--prefix", "p", "--target", "New"],
    ("backup", "copy"): ["--table", "Orders", "--destination-region", "us-west-2", "--vault", "dr",
                         "--role-arn", "arn:aws:iam::123456789012:role/backup"],
    ("streams", "tail"): ["Orders"],
    ("bulk", "run"): ["FILE", "--table", "Orders"], ("bulk", "status"): ["job-1"], ("bulk", "resume"): ["job-1"],
    ("console",): [],
}


# ==================================================================================================
# Region and profile
# ==================================================================================================


def test_every_aws_command_has_region_and_profile() -> None:
    found = {path: cmd for path, cmd in all_commands() if not isinstance(cmd, click.Group)}
    for path in AWS_COMMANDS:
        names = {p.name for p in found[path].params}
        assert {"region", "profile"} <= names, path
    assert {p.name for p in found[("bind",)].params} >= {"region", "profile"}


@pytest.mark.parametrize("path", list(AWS_COMMANDS), ids=" ".join)
def test_no_region_fails_naming_region_and_aws_region(path: tuple[str, ...], no_region: None,
                                                      tmp_path: Path) -> None:
    args = [str(component(tmp_path, TABLE)) if a == "FILE" else a for a in AWS_COMMANDS[path]]
    result = run(*path, *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: no AWS region:")
    assert "--region" in result.stderr and "AWS_REGION" in result.stderr
    assert "us-east-1" not in result.output  # no quiet default


def test_region_from_the_environment_is_used(moto: MotoGaps, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")  # AWS_REGION comes first (tests/core/test_region.py)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    result = run("plan", str(component(tmp_path, TABLE)))
    assert result.exit_code == 0, result.output
    assert "Plan for table Orders in eu-west-1" in result.stdout


def test_unknown_profile_is_a_usage_error(tmp_path: Path) -> None:
    result = run("backup", "list", "--table", "Orders", "--profile", "no-such-profile")
    assert result.exit_code == 2 and "error: --profile no-such-profile: no such AWS profile" in result.stderr


# ==================================================================================================
# One error format
# ==================================================================================================


class Failing:
    """A client whose every call raises the ClientError given (what no emulator does on demand)."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message

    def __getattr__(self, name: str) -> Any:
        from botocore.exceptions import ClientError

        def call(*_: Any, **__: Any) -> Any:
            raise ClientError({"Error": {"Code": self.code, "Message": self.message},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, name)

        return call


ERRORS = {
    "missing": ("ResourceNotFoundException", "Requested resource not found", "not found in us-east-1"),
    "denied": ("AccessDeniedException", "User: x is not authorized", "access denied (AccessDeniedException"),
    "throttled": ("ThrottlingException", "Rate exceeded", "throttled by AWS (ThrottlingException)"),
}


@pytest.mark.parametrize("kind", list(ERRORS))
@pytest.mark.parametrize("command", [["backup", "list", "--table", "Orders"], ["backup", "create", "--table", "Orders"],
                                     ["monitor", "--table", "Orders"], ["plan", "FILE"], ["audit", "--table", "Orders"]],
                         ids=lambda c: " ".join(c[:2]))
def test_one_error_format(kind: str, command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, message, why = ERRORS[kind]
    failing = Failing(code, message)
    monkeypatch.setattr(ops_cmds, "_client", lambda *a, **k: failing)

    class Clients:
        region = REGION
        local_endpoint = emulator_endpoint = False  # AWS: its errors are never an emulator's gap

        def client(self, *_: Any, **__: Any) -> Any:
            return failing

        def account_id(self) -> None:
            return None

    monkeypatch.setattr(provision_cmds, "make_clients", lambda region, endpoint_url: Clients())
    args = [str(component(tmp_path, TABLE)) if a == "FILE" else a for a in command]
    result = run(*args, "--region", REGION)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, (result.stderr, result.exception, result.output)
    what = "table Orders" if "FILE" not in command else str(args[1])
    assert lines[0].startswith(f"error: {what}: {why}"), lines[0]
    assert "An error occurred" not in result.stderr and "AWS error" not in result.stderr  # no raw botocore text


def test_backup_list_of_a_missing_table_is_an_error(moto: MotoGaps) -> None:
    result = run("backup", "list", "--table", "NoSuchTable")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: table NoSuchTable: not found in us-east-1")
    assert "no USER backups" not in result.output


def test_backup_list_of_a_table_without_backups_is_fine(moto: MotoGaps) -> None:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="Orders", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    result = run("backup", "list", "--table", "Orders")
    assert result.exit_code == 0 and "no USER backups of Orders" in result.stdout


def test_config_errors_use_the_same_format(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("components:\n  - name: [x\n")
    for args in (["validate", str(bad)], ["plan", str(bad), "--region", REGION], ["monitor", str(bad),
                                                                                   "--region", REGION]):
        result = run(*args)
        assert result.exit_code == 1 and result.stderr.startswith(f"error: {bad}: 1 config error(s):"), args
        assert "^" in result.stderr  # the YAML caret survives


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("backup", "list").exit_code == 2
    assert run("streams", "tail", "--region", REGION).exit_code == 2
    assert run("plan", "--no-such-option").exit_code == 2


# ==================================================================================================
# Several tables in one file: monitor does every table; synth says it needs one
# ==================================================================================================


def test_monitor_file_with_two_tables_reports_every_table(tmp_path: Path) -> None:
    from moto import mock_aws

    other = {**TABLE, "tableName": "Invoices"}
    path = component(tmp_path, TABLE, other)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        for name in ("Orders", "Invoices"):
            ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        text = run("monitor", str(path), "--region", REGION, "--end", "2026-01-01T12:00:00Z")
        as_json = run("monitor", str(path), "--region", REGION, "--end", "2026-01-01T12:00:00Z", "--json")
    assert text.exit_code == 0, text.output
    assert "Capacity of Orders" in text.stdout and "Capacity of Invoices" in text.stdout
    assert [json.loads(line)["table"] for line in as_json.stdout.splitlines()] == ["Orders", "Invoices"]


def test_synth_on_two_tables_says_to_choose_and_help_says_so(tmp_path: Path) -> None:
    path = component(tmp_path, TABLE, {**TABLE, "tableName": "Invoices"})
    result = run("synth", str(path))
    assert result.exit_code == 2 and "choose one with --component" in result.stderr
    assert "every table" not in run("synth", "--help").stdout
    assert run("synth", str(path), "--component", "invoices").exit_code == 0


# ==================================================================================================
# apply: confirmation, destructive/disruptive warnings, replacing a table, progress
# ==================================================================================================


def test_apply_asks_on_a_terminal(moto: MotoGaps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provision_cmds, "interactive", lambda: True)
    path = str(component(tmp_path, TABLE))
    no = run("apply", path, "--poll", "0", input="n\n")
    assert no.exit_code == 1 and re.search(r"apply \d+ change\(s\) to Orders in us-east-1\? \[y/N\]", no.output)
    assert "cancelled, nothing changed" in no.stderr
    assert "Plan for table Orders" in no.output  # the plan is shown before the question
    assert boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"] == []
    yes = run("apply", path, "--poll", "0", input="y\n")
    assert yes.exit_code == 0, yes.output
    assert boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"] == ["Orders"]
    again = run("apply", path, "--poll", "0")  # nothing to do: no question
    assert again.exit_code == 0 and "nothing to do" in again.output and "?" not in again.output


def test_apply_yes_skips_the_question(moto: MotoGaps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provision_cmds, "interactive", lambda: True)
    result = run("apply", str(component(tmp_path, TABLE)), "--poll", "0", "--yes")
    assert result.exit_code == 0 and "?" not in result.output


def test_apply_says_an_index_rebuild_is_disruptive(moto: MotoGaps, tmp_path: Path) -> None:
    assert run("apply", str(component(tmp_path, TABLE)), "--poll", "0").exit_code == 0
    changed = json.loads(json.dumps(TABLE))
    changed["globalSecondaryIndexes"][0]["projection"] = {"projectionType": "ALL"}
    plan = run("plan", str(component(tmp_path, changed)))
    assert "disruptive: index ByG of Orders is deleted and rebuilt" in plan.stdout
    assert "unusable" in plan.stdout or "fail until the new index finishes backfilling" in plan.stdout
    unattended = run("apply", str(component(tmp_path, changed)), "--poll", "0")  # no terminal, no --yes
    assert unattended.exit_code == 2 and "pass --yes to proceed" in unattended.stderr
    result = run("apply", str(component(tmp_path, changed)), "--poll", "0", "--yes")
    assert result.exit_code == 0, result.output
    assert "disruptive: index ByG of Orders is deleted and rebuilt" in result.stdout
    dropped = {**TABLE, "globalSecondaryIndexes": [], "attributeDefinitions": TABLE["attributeDefinitions"][:1]}
    assert "destructive: index ByG of Orders is deleted" in run("plan", str(component(tmp_path, dropped))).stdout


def test_key_change_is_refused_without_replace_table(moto: MotoGaps, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("apply", str(component(tmp_path, TABLE)), "--poll", "0").exit_code == 0
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.put_item(TableName="Orders", Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    rekeyed = {**TABLE, "attributeDefinitions": [*TABLE["attributeDefinitions"],
                                                 {"attributeName": "sk", "attributeType": "S"}],
               "keySchema": [*TABLE["keySchema"], {"attributeName": "sk", "keyType": "RANGE"}]}
    path = str(component(tmp_path, rekeyed))
    refused = run("apply", path, "--poll", "0", "--yes")
    assert refused.exit_code == 1 and "--replace-table" in refused.stderr
    assert ddb.scan(TableName="Orders")["Count"] == 1

    unattended = run("apply", path, "--poll", "0", "--replace-table")  # no terminal, no --yes
    assert unattended.exit_code == 2 and "pass --yes" in unattended.stderr
    assert ddb.scan(TableName="Orders")["Count"] == 1
    monkeypatch.setattr(provision_cmds, "interactive", lambda: True)
    wrong = run("apply", path, "--poll", "0", "--replace-table", input="orders\n")
    assert wrong.exit_code == 1 and "not replaced" in wrong.stderr and ddb.scan(TableName="Orders")["Count"] == 1
    replaced = run("apply", path, "--poll", "0", "--replace-table", input="Orders\n")
    assert replaced.exit_code == 0, replaced.output
    assert "is REPLACED: deleted with every item" in replaced.stdout
    key = ddb.describe_table(TableName="Orders")["Table"]["KeySchema"]
    assert [k["AttributeName"] for k in key] == ["pk", "sk"] and ddb.scan(TableName="Orders")["Count"] == 0


def test_apply_reports_wait_status_as_lines_when_not_a_terminal(moto: MotoGaps, tmp_path: Path) -> None:
    result = run("apply", str(component(tmp_path, TABLE)), "--poll", "0")
    assert result.exit_code == 0, result.output
    assert "waiting: table Orders: ACTIVE (0 s)" in result.stdout


@pytest.mark.parametrize("rich", [False, True], ids=["lines", "terminal-bar"])
def test_apply_plan_wait_status_goes_to_lines_or_the_bar(moto: MotoGaps, rich: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from moto_gaps import effective

    from ddbkit_infra import apply as apply_mod
    from ddbkit_infra.plan import make_plan

    bar: list[str] = []
    real_waiting = apply_mod._Progress.waiting

    def waiting(self: Any, what: str, status: str, elapsed: float, on_wait: Any) -> None:
        if self._bar is not None:
            bar.append(f"{what}: {status}")
        real_waiting(self, what, status, elapsed, on_wait)

    monkeypatch.setattr(apply_mod._Progress, "waiting", waiting)
    seen: list[tuple[str, str]] = []
    clients = moto.clients(REGION)
    plan = make_plan(effective(TABLE), clients)
    apply_mod.apply_plan(plan, clients, poll=0, rich=rich, on_wait=lambda w, s, e: seen.append((w, s)))
    if rich:
        assert seen == [] and "table Orders: ACTIVE" in bar  # the status is drawn in the bar
    else:
        assert ("table Orders", "ACTIVE") in seen and bar == []


def test_wait_status_names_indexes_and_replicas_not_active() -> None:
    from ddbkit_infra.apply import _status
    from ddbkit_infra.plan import Wait

    class Ddb:
        def describe_table(self, TableName: str) -> dict[str, Any]:  # noqa: N803
            return {"Table": {"TableStatus": "UPDATING",
                              "GlobalSecondaryIndexes": [{"IndexName": "ByG", "IndexStatus": "CREATING",
                                                          "Backfilling": True},
                                                         {"IndexName": "ByH", "IndexStatus": "ACTIVE"}],
                              "Replicas": [{"RegionName": "eu-west-1", "ReplicaStatus": "CREATING",
                                            "ReplicaStatusPercentProgress": "40"}]}}

    class Clients:
        def client(self, *_: Any) -> Ddb:
            return Ddb()

    done, status = _status(Clients(), Wait("table", "Orders"))  # type: ignore[arg-type]
    assert not done
    assert status == "UPDATING; index ByG CREATING (backfilling); replica eu-west-1 CREATING 40%"


def test_wait_reporter_lines_on_change_and_every_interval() -> None:
    now = [0.0]
    lines: list[str] = []
    r = progress.WaitReporter(terminal=False, every=30, echo=lines.append, clock=lambda: now[0])
    r.report("table T", "CREATING", 0)
    now[0] = 10
    r.report("table T", "CREATING", 10)  # same status, within the interval: quiet
    now[0] = 31
    r.report("table T", "CREATING", 31)  # alive line
    now[0] = 32
    r.report("table T", "ACTIVE", 32)  # change
    assert lines == ["waiting: table T: CREATING (0 s)", "waiting: table T: CREATING (31 s)",
                     "waiting: table T: ACTIVE (32 s)"]


def test_wait_reporter_on_a_terminal_draws_a_spinner(capsys: pytest.CaptureFixture[str]) -> None:
    lines: list[str] = []
    with progress.reporting(terminal=True) as r:
        r.echo = lines.append
        r.report("backup b", "CREATING", 1.0)
        assert r._status is not None
    assert lines == []  # into the spinner, not lines


def test_backup_waits_show_progress_lines(tmp_path: Path) -> None:
    from moto import mock_aws

    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="Orders", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        created = run("backup", "create", "--table", "Orders", "--name", "first", "--poll-interval", "0")
        restored = run("backup", "restore", "--table", "Orders", "--target", "Copy", "--latest-backup",
                       "--poll-interval", "0")
    assert created.exit_code == 0, created.output  # moto's backups are AVAILABLE at once: nothing to wait for
    assert restored.exit_code == 0, restored.output
    assert "waiting: " in restored.stderr and "Copy" in restored.stderr


class Jobs:
    """dynamodb + backup clients whose import and copy jobs run for two polls, then complete."""

    ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders"

    def __init__(self) -> None:
        self.polls = 0

    def _state(self, running: str, done: str) -> str:
        self.polls += 1
        return running if self.polls < 3 else done

    def describe_table(self, TableName: str) -> dict[str, Any]:  # noqa: N803 - boto3's spelling
        return {"Table": {"TableName": TableName, "TableArn": self.ARN, "TableStatus": "ACTIVE",
                          "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                          "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                          "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"}}}

    def import_table(self, **kwargs: Any) -> dict[str, Any]:
        return {"ImportTableDescription": {"ImportArn": "arn:import/1", "ImportStatus": "IN_PROGRESS",
                                           "TableArn": self.ARN.replace("Orders", "New")}}

    def describe_import(self, ImportArn: str) -> dict[str, Any]:  # noqa: N803
        return {"ImportTableDescription": {"ImportArn": ImportArn, "ImportStatus": self._state("IN_PROGRESS",
                                                                                              "COMPLETED"),
                                           "TableArn": self.ARN.replace("Orders", "New")}}

    def get_waiter(self, name: str) -> Any:
        class Waiter:
            def wait(self, **_: Any) -> None:
                return None

        return Waiter()

    def start_copy_job(self, **kwargs: Any) -> dict[str, Any]:
        return {"CopyJobId": "job-1"}

    def describe_copy_job(self, CopyJobId: str) -> dict[str, Any]:  # noqa: N803
        return {"CopyJob": {"State": self._state("RUNNING", "COMPLETED"), "SourceRecoveryPointArn": "rp",
                            "DestinationBackupVaultArn": "arn:aws:backup:us-west-2:123456789012:backup-vault:dr"}}


@pytest.mark.parametrize("command, job", [
    (["import", "--bucket", "b", "--prefix", "p", "--target", "New"], "import arn:import/1"),
    (["copy", "--destination-region", "us-west-2", "--vault", "dr", "--role-arn", "arn:aws:iam::1:role/r",
      "--recovery-point-arn", "rp"], "copy job job-1"),
], ids=["import", "copy"])
def test_import_and_copy_waits_show_progress_lines(command: list[str], job: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = Jobs()

    class Paginator:
        def paginate(self, **_: Any) -> Any:
            return [{"RecoveryPoints": [{"RecoveryPointArn": "rp", "BackupVaultName": "main", "Status": "COMPLETED",
                                         "CreationDate": datetime(2026, 1, 1, tzinfo=timezone.utc)}]}]

    jobs.get_paginator = lambda name: Paginator()  # type: ignore[method-assign]
    monkeypatch.setattr(ops_cmds, "_client", lambda *a, **k: jobs)
    result = run("backup", command[0], "--table", "Orders", "--region", REGION, *command[1:], "--poll-interval", "0")
    assert result.exit_code == 0, (result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"waiting: {job}: ")]
    assert len(lines) == 2 and lines[-1].startswith(f"waiting: {job}: COMPLETED"), result.stderr


# ==================================================================================================
# streams tail
# ==================================================================================================


def test_streams_tail_stream_arn(tmp_path: Path) -> None:
    from moto import mock_aws

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        arn = ddb.create_table(
            TableName="Orders", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        ddb.put_item(TableName="Orders", Item={"pk": {"S": "a"}, "n": {"N": "1"}, "f": {"N": "1.5"}})
        ddb.put_item(TableName="Orders", Item={"pk": {"S": "b"}, "n": {"N": "2.25"}, "f": {"N": "3"}})
        result = run("streams", "tail", "--stream-arn", arn, "--region", REGION, "--from", "trim-horizon", "--json",
                     "--max-records", "2", "--timeout", "10", "--poll-interval", "0")
        both = run("streams", "tail", "Orders", "--stream-arn", arn, "--region", REGION)
    assert result.exit_code == 0, result.output
    images = [json.loads(line, parse_float=Decimal)["newImage"] for line in result.stdout.splitlines()]
    assert images == [{"pk": "a", "n": 1, "f": Decimal("1.5")}, {"pk": "b", "n": Decimal("2.25"), "f": 3}]
    assert both.exit_code == 2 and "one of them" in both.stderr


def test_streams_missing_stream_names_the_cli_option(tmp_path: Path) -> None:
    from moto import mock_aws

    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="Plain", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        result = run("streams", "tail", "Plain", "--region", REGION, "--timeout", "1")
    assert result.exit_code == 1 and result.stderr.startswith("error: table Plain: ")
    assert "--stream-arn" in result.stderr and "stream_arn" not in result.stderr.replace("--stream-arn", "")


def test_tail_json_writes_every_number_one_way() -> None:
    from ddbkit_infra.cli.streams_cmds import dumps

    data = {"i": 1, "d": Decimal("0.10"), "big": Decimal("123456789012345678901234567890.5"), "neg": -3,
            "e": Decimal("1E+2"), "ns": {Decimal("2.5"), 1}, "b": True, "s": "1", "l": [Decimal("7"), None]}
    text = dumps(data)
    back = json.loads(text, parse_float=Decimal)
    assert back == {"i": 1, "d": Decimal("0.10"), "big": Decimal("123456789012345678901234567890.5"), "neg": -3,
                    "e": Decimal("1E+2"), "ns": [1, Decimal("2.5")], "b": True, "s": "1", "l": [7, None]}
    assert '"s": "1"' in text and '"d": 0.10' in text  # strings stay strings; numbers keep their digits


# ==================================================================================================
# Help matches behaviour
# ==================================================================================================


def test_every_command_has_help_that_runs() -> None:
    top = run("--help")
    assert top.exit_code == 0 and "Exit codes: 0 ok; 1 findings" in top.stdout and "2 usage error" in top.stdout
    for path, cmd in all_commands():
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"
        text = result.stdout
        assert "else us-east-1" not in text, path  # no quiet region default
        if "region" in {p.name for p in cmd.params} and path[0] not in ("synth", "bind"):
            assert "AWS_REGION" in text, path
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"


def help_text(*path: str) -> str:
    return " ".join(run(*path, "--help").stdout.split())


def test_help_claims_hold() -> None:
    """Each claim a help text makes about behaviour is one of the tests above; keep the texts to them."""
    assert "every table" in help_text("monitor")  # test_monitor_file_with_two_tables_reports_every_table
    apply_help = help_text("apply")
    assert "--yes" in apply_help and "asks on a terminal" in apply_help  # test_apply_asks_on_a_terminal
    assert "--replace-table" in apply_help and "EVERY ITEM IS LOST" in apply_help  # test_key_change_is_refused...
    assert "a line at least every 30 s otherwise" in apply_help  # test_apply_reports_wait_status_as_lines...
    assert "--stream-arn" in help_text("streams", "tail")  # test_streams_tail_stream_arn
    assert "one template per table" in help_text("synth")  # test_synth_on_two_tables_says_to_choose...
