"""Issue #29: ``DynamoDBTableComponent``, the spec's API reference as an object, gives what the CLI gives.

Every method is called on the three examples and compared with the ``ddbkit`` command's output for the same
file (click's CliRunner): synth, validate, capabilities (against ``${component.attr}`` resolution and bind's
environment), bind, and against moto's server and DynamoDB Local apply, plan, audit and table(); consent as
the CLI asks it (a destructive change is refused without it, with the same risk the CLI names).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from backends import Backend
from click.testing import CliRunner

from ddbkit.config import ConfigError, TableConfig, load_component_file
from ddbkit_infra.cli import cli
from ddbkit_infra.component import (
    ConsentRequired,
    DynamoDBTableComponent,
    DynamodbTableComponent,
    DynamodbTableConfig,
)
from ddbkit_infra.iam.binds import arn_context, resolve_references

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["session-store", "iot-time-series", "global-leaderboard"]
ACCOUNT, REGION = "111122223333", "us-east-1"


def _path(example: str) -> str:
    return str(ROOT / "examples" / example / "component.yaml")


def _tables(example: str) -> list[str]:
    return list(load_component_file(_path(example)).tables)


def _consumers(example: str) -> list[str]:
    return [c.name for c in load_component_file(_path(example)).components if c.binds]


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_the_spec_names() -> None:
    from ddbkit_infra import component

    assert DynamodbTableComponent is DynamoDBTableComponent
    assert DynamodbTableConfig is TableConfig
    assert component.DYNAMODB_TABLE_CONFIG_SCHEMA["title"] == "DynamodbTableConfig"
    comp = DynamoDBTableComponent.from_file(_path("session-store"))
    assert comp.get_type() == comp.getType() == "dynamodb-table"
    assert comp.getCapabilities() == comp.get_capabilities()


@pytest.mark.parametrize("example", EXAMPLES)
def test_synth_is_the_template_ddbkit_synth_writes(example: str) -> None:
    for name in _tables(example):
        comp = DynamoDBTableComponent.from_file(_path(example), name)
        for fmt in ("json", "yaml"):
            out = _cli("synth", _path(example), "-c", name, "--format", fmt)
            assert out.exit_code == 0, out.output
            assert comp.synth(fmt) == out.output
        assert comp.synth() == json.loads(_cli("synth", _path(example), "-c", name, "--format", "json").stdout)
        assert comp.synth()["Resources"]  # a real template
        # a tier given to the component is the CLI's --tier: the same template, or the same refusal
        out = _cli("synth", _path(example), "-c", name, "--format", "json", "--tier", "fedramp-high")
        try:
            high = DynamoDBTableComponent.from_file(_path(example), name, tier="fedramp-high")
        except ConfigError as err:
            assert out.exit_code == 1
            assert all(str(issue) in out.output for issue in err.issues)
        else:
            assert high.synth("json") == out.output


@pytest.mark.parametrize("example", EXAMPLES)
def test_validate_is_what_ddbkit_validate_reports(example: str) -> None:
    out = _cli("validate", _path(example), "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == {
        name: DynamoDBTableComponent.from_file(_path(example), name).validate().to_dict() for name in _tables(example)}
    text = _cli("validate", _path(example)).output
    for comp in DynamoDBTableComponent.all_from_file(_path(example)):
        result = comp.validate()
        assert f"# component {comp.name}: valid ({result.framework.value})" in text
        assert (f"# {len(result.defaults)} setting(s) filled by the tier" in text) == bool(result.defaults)


def test_construction_fails_as_validate_does(tmp_path: Path) -> None:
    """A contradiction between config and tier is a ConfigError when the component is built (the tier is
    resolved once), with the issue ddbkit validate prints; an unknown component names the file's tables."""
    data = yaml.safe_load(Path(_path("session-store")).read_text())
    cfg = next(c for c in data["components"] if c["name"] == "user-sessions")["config"]
    cfg["complianceFramework"] = "fedramp-high"
    bad = tmp_path / "component.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        DynamoDBTableComponent.from_file(bad, "user-sessions")
    out = _cli("validate", str(bad))
    assert out.exit_code == 1
    assert all(f"user-sessions: {issue}" in out.output for issue in err.value.issues)
    with pytest.raises(ConfigError, match="no dynamodb-table component named 'nope'"):
        DynamoDBTableComponent.from_file(_path("session-store"), "nope")


def test_from_config_and_from_component_build_the_same_component() -> None:
    loaded = load_component_file(_path("session-store"))
    by_file = DynamoDBTableComponent(loaded, "user-sessions")
    by_component = DynamoDBTableComponent.from_component(loaded.component("user-sessions"))
    by_config = DynamoDBTableComponent.from_config(loaded.component("user-sessions").config, "user-sessions")
    by_model = DynamoDBTableComponent.from_config(loaded.tables["user-sessions"], "user-sessions")
    for other in (by_component, by_config, by_model):
        assert other.config == by_file.config
        assert other.get_capabilities(account_id=ACCOUNT, region=REGION) == \
            by_file.get_capabilities(account_id=ACCOUNT, region=REGION)
    with pytest.raises(ConfigError, match="not a 'dynamodb-table'"):
        DynamoDBTableComponent.from_component(loaded.component("session-manager"))
    with pytest.raises(ConfigError, match="billingMode"):
        DynamoDBTableComponent.from_config({**loaded.component("user-sessions").config, "billingMode": "FREE"})


@pytest.mark.parametrize("example", EXAMPLES)
def test_capabilities_are_what_references_and_bind_resolve_to(example: str) -> None:
    loaded = load_component_file(_path(example))
    for name in _tables(example):
        comp = DynamoDBTableComponent(loaded, name)
        caps = comp.get_capabilities(account_id=ACCOUNT, region=REGION)
        assert list(caps) == ["database:dynamodb"]
        cap = caps["database:dynamodb"]
        ctx = arn_context(ACCOUNT, REGION)
        tables = {n: DynamoDBTableComponent(loaded, n).config for n in loaded.tables}
        for attr in ("tableName", "tableArn", "streamArn", "indexNames"):
            if attr in cap:
                assert cap[attr] == resolve_references(f"${{{name}.{attr}}}", tables, ctx)
        assert cap["tableName"] == comp.table_name
        assert cap["tableArn"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{comp.table_name}"
        assert cap["region"] == REGION
        assert cap["indexes"] == [i.index_name for i in comp.config.global_secondary_indexes] + \
            [i.index_name for i in comp.config.local_secondary_indexes]
        # a binder gets the variables bind sets for this table
        for consumer in _consumers(example):
            report = comp.bind(consumer, account_id=ACCOUNT, region=REGION)
            for bound in report.binds:
                if bound.target == name:
                    assert bound.environment == cap["environment"]
        # a live stream ARN given to it is what ${name.streamArn} resolves to with the live table
        if "streamArn" in cap:
            live = "arn:aws:dynamodb:us-east-1:111122223333:table/T/stream/2026-12-05T00:00:00.000"
            assert comp.get_capabilities(account_id=ACCOUNT, region=REGION, stream_arn=live)[
                "database:dynamodb"]["streamArn"] == live


@pytest.mark.parametrize("example", EXAMPLES)
def test_bind_is_what_ddbkit_bind_prints(example: str) -> None:
    for consumer in _consumers(example):
        comp = DynamoDBTableComponent.from_file(_path(example), _tables(example)[0])
        out = _cli("bind", _path(example), "-c", consumer, "--account-id", ACCOUNT, "--region", REGION)
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout) == comp.bind(consumer, account_id=ACCOUNT, region=REGION).to_dict()
        template = _cli("bind", _path(example), "-c", consumer, "--format", "cloudformation")
        assert template.exit_code == 0, template.output
        assert yaml.safe_load(template.output) == comp.bind_template(consumer)


# --- against moto's server and DynamoDB Local -------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_apply_plan_audit_table_on_a_live_backend(server_backend: Backend, example: str) -> None:
    """apply (consent given) makes the tables; then the component's plan and audit equal the CLI's for the
    same file and endpoint, plan has nothing pending, and table() reads and writes the live table."""
    url = server_backend.endpoint_url
    assert url is not None
    comps = DynamoDBTableComponent.all_from_file(_path(example), endpoint_url=url, region=REGION)
    lines: list[str] = []
    for comp in comps:
        outcome = comp.apply(consent=True, poll=0, skip_unsupported=True, echo=lambda t, s=None: lines.append(t))
        assert outcome.changed, lines
        assert f"{comp.table_name}: made " in lines[-1]
    plans = [comp.plan() for comp in comps]
    assert not [c for p in plans for c in p.pending], [p.render() for p in plans]
    out = _cli("plan", _path(example), "--endpoint-url", url, "--region", REGION, "--json")
    assert out.exit_code == 0, out.output
    from ddbkit_infra.plan.risk import assess

    assert json.loads(out.stdout) == json.loads(json.dumps(
        [{**p.to_dict(), "risks": [str(r) for r in assess(p)]} for p in plans], default=str))
    audit = _cli("audit", _path(example), "--endpoint-url", url, "--region", REGION, "--json")
    assert json.loads(audit.stdout) == [comp.audit().to_dict() for comp in comps]
    # a second apply changes nothing
    again = comps[0].apply(consent=True, poll=0, skip_unsupported=True)
    assert not again.changed and not again.plan.pending
    for comp in comps:
        table = comp.table()
        key = {comp.config.hash_key: "k1"}
        if comp.config.range_key:
            key[comp.config.range_key] = _sample(comp.config, comp.config.range_key)
        table.put({**key, "note": "from the component"})
        assert table.get(key)["note"] == "from the component"


def _sample(cfg: TableConfig, attribute: str) -> Any:
    return 1 if cfg.attribute_types()[attribute] == "N" else "r1"


def test_apply_without_consent_refuses_a_destructive_change(moto_backend: Backend, tmp_path: Path) -> None:
    """Consent as the CLI asks it: without it a destructive change is refused before anything changes, naming
    the same risk ``ddbkit apply`` names when it has no terminal to ask on (exit 2)."""
    url = moto_backend.endpoint_url
    assert url is not None
    first = DynamoDBTableComponent.from_file(_path("session-store"), endpoint_url=url, region=REGION)
    first.apply(consent=True, poll=0, skip_unsupported=True)
    data = yaml.safe_load(Path(_path("session-store")).read_text())
    cfg = next(c for c in data["components"] if c["name"] == "user-sessions")["config"]
    cfg["globalSecondaryIndexes"] = []  # deletes the table's index: destructive
    keys = {k["attributeName"] for k in cfg["keySchema"]}
    cfg["attributeDefinitions"] = [a for a in cfg["attributeDefinitions"] if a["attributeName"] in keys]
    changed = tmp_path / "component.yaml"
    changed.write_text(yaml.safe_dump(data))
    comp = DynamoDBTableComponent.from_file(changed, endpoint_url=url, region=REGION)
    with pytest.raises(ConsentRequired) as refused:
        comp.apply()
    assert refused.value.request.risks and refused.value.request.risks[0].startswith("destructive: ")
    assert comp.plan().pending  # nothing changed
    out = _cli("apply", str(changed), "--endpoint-url", url, "--region", REGION, "--skip-unsupported")
    assert out.exit_code == 2
    assert refused.value.request.risks[0] in out.output
    asked: list[Any] = []
    with pytest.raises(ConsentRequired):  # a consent callable that says no
        comp.apply(consent=lambda request: bool(asked.append(request)))
    assert asked and asked[0].risks == refused.value.request.risks
    done = comp.apply(consent=True, poll=0, skip_unsupported=True)
    assert done.changed and not comp.plan().pending


# The spec's "API Reference" section, name by name (the spec itself lives outside this repository).
SPEC_API = {
    "DynamodbTableComponent": "DynamodbTableComponent",
    "synth()": "synth",
    "getCapabilities()": "getCapabilities",
    "getType()": "getType",
    "DynamodbTableConfig": "DynamodbTableConfig",
    "DYNAMODB_TABLE_CONFIG_SCHEMA": "DYNAMODB_TABLE_CONFIG_SCHEMA",
}


def test_docs_api_maps_the_spec_reference_one_to_one() -> None:
    """docs/api.md's mapping table has one row per name of the spec's API reference, and each name exists
    in Python (on the module, or as a method of the component)."""
    from ddbkit_infra import component

    page = (ROOT / "docs" / "api.md").read_text()
    table = page.split("## The spec's API reference, one to one", 1)[1].split("Beyond the spec", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [line.split("`")[1] for line in rows] == list(SPEC_API)
    for python in SPEC_API.values():
        assert hasattr(component, python) or hasattr(component.DynamoDBTableComponent, python), python
    assert "api.md" in (ROOT / "README.md").read_text()
