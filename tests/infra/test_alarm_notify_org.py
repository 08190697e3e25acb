"""Issue 24, item 11: commercial alarms that notify nobody are a `validate` warning (monitoring.notify), and
cross-account grants can be limited to an AWS Organization (resourcePolicy.principalOrgId ->
aws:PrincipalOrgID in the table and stream resource policies, in synth and apply)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ddbkit.config import ConfigError, check_table_warnings, load_component_text, parse_table_config
from ddbkit_infra.cli import cli
from ddbkit_infra.synth.cloudformation import synthesize
from ddbkit_infra.compliance import resolve
from ddbkit_infra.plan import LiveState, diff
from ddbkit_infra.plan.security import SecurityState
from ddbkit_infra.iam.security import stream_resource_policy, table_resource_policy

TABLE: dict[str, Any] = {
    "tableName": "Things",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
    "streamSpecification": {"streamEnabled": True, "streamViewType": "NEW_IMAGE"},
}
TOPIC = "arn:aws:sns:us-east-1:111122223333:alarms"
ORG = "o-abcdef1234"


def eff(data: dict[str, Any], tier: str = "commercial") -> Any:
    return resolve(parse_table_config(copy.deepcopy(data)), tier)


def test_commercial_alarms_without_a_topic_warn() -> None:
    (issue,) = check_table_warnings(eff(TABLE).config)
    assert issue.rule == "monitoring.notify" and issue.path == ("monitoring", "alarmTopicArn")
    assert check_table_warnings(eff({**TABLE, "monitoring": {"alarmTopicArn": TOPIC}}).config) == []
    assert check_table_warnings(eff(TABLE, "fedramp-moderate").config) == []  # a topic is created


def _file(tmp_path: Path, cfg: dict[str, Any]) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"components": [{"name": "things", "type": "dynamodb-table", "config": cfg}]}))
    return path


def test_validate_prints_the_warning_and_exits_0(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["validate", str(_file(tmp_path, TABLE))])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "[monitoring.notify]" in res.output
    assert "components[0].config.monitoring.alarmTopicArn" in res.output
    res = CliRunner().invoke(cli, ["validate", str(_file(tmp_path, {**TABLE, "monitoring": {"alarmTopicArn": TOPIC}}))])
    assert res.exit_code == 0 and "monitoring.notify" not in res.output


ORG_TABLE: dict[str, Any] = {**TABLE, "resourcePolicy": {"crossAccountPrincipals": ["210987654321"],
                                                         "principalOrgId": ORG}}


def test_principal_org_id_conditions_every_cross_account_grant() -> None:
    cfg = eff(ORG_TABLE).config
    arn = "arn:aws:dynamodb:us-east-1:111122223333:table/Things"
    doc = table_resource_policy(cfg, arn, grants=[("333344445555", "read-write")])
    assert doc is not None
    grants = [s for s in doc["Statement"] if s["Effect"] == "Allow"]
    assert {s["Sid"] for s in grants} == {"CrossAccountAccess", "BindReadWrite"}
    assert all(s["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}} for s in grants)
    sdoc = stream_resource_policy(cfg, arn + "/stream/x")
    assert sdoc is not None
    assert sdoc["Statement"][0]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    # without principalOrgId: no condition (as before)
    plain = eff({**TABLE, "resourcePolicy": {"crossAccountPrincipals": ["210987654321"]}}).config
    plain_doc = table_resource_policy(plain, arn)
    assert plain_doc is not None and "Condition" not in plain_doc["Statement"][0]


def test_principal_org_id_in_synth_and_apply() -> None:
    template = synthesize(eff(ORG_TABLE))
    policy = template["Resources"]["Table"]["Properties"]["ResourcePolicy"]["PolicyDocument"]
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    plan = diff(eff(ORG_TABLE).config, LiveState(region="us-east-1", account="111122223333",
                                                  security=SecurityState()))
    puts = [c for ch in plan.changes for c in ch.calls if c.operation == "put_resource_policy"]
    assert puts and all(ORG in str(c.params["Policy"]) for c in puts)


@pytest.mark.parametrize("org", ["abc", "o-SHORT", "o-123"])
def test_principal_org_id_format(org: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_table_config({**TABLE, "resourcePolicy": {"principalOrgId": org}})
    assert exc.value.issues[0].rule == "security.org-id"
    assert exc.value.issues[0].path == ("resourcePolicy", "principalOrgId")


def test_principal_org_id_from_yaml() -> None:
    text = yaml.safe_dump({"components": [{"name": "t", "type": "dynamodb-table", "config": ORG_TABLE}]})
    rp = load_component_text(text).tables["t"].resource_policy
    assert rp is not None and rp.principal_org_id == ORG
