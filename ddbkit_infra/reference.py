"""The configuration reference (docs/configuration.md), generated from the JSON Schema of the model.

``ddbkit schema --markdown`` prints it; a test keeps the committed page equal to what this produces, so
the reference cannot drift from the model.
"""

from __future__ import annotations

from typing import Any

from ddbkit.config import Bind, Component, dynamodb_table_config_schema

__all__ = ["config_reference_markdown", "rules_reference_markdown"]

# What each MonitoringLevel adds (ddbkit_infra/synth/alarms.py); the compliance tiers' notes come from TIERS.
_MONITORING_NOTES = {
    "basic": "SystemErrors; read/write throttle events for the table and each GSI",
    "enhanced": "basic + consumed vs provisioned capacity (PROVISIONED), SuccessfulRequestLatency per operation, "
                "ConditionalCheckFailedRequests, account-wide UserErrors",
    "comprehensive": "enhanced + ReplicationLatency and AgeOfOldestUnreplicatedRecord per replica, "
                     "OnlineIndexPercentageProgress per GSI, account capacity utilisation",
}


def _enum_notes(name: str) -> dict[str, str]:
    """What each value of enum ``name`` means, for the reference page."""
    if name == "ComplianceFramework":
        from ddbkit_infra.compliance import TIERS

        return {fw.value: "; ".join(policy.summary) for fw, policy in TIERS.items()}
    if name == "MonitoringLevel":
        return _MONITORING_NOTES
    return {}


def _type_of(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        return f"[{prop['$ref'].rsplit('/', 1)[-1]}](#{prop['$ref'].rsplit('/', 1)[-1].lower()})"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "anyOf" in prop:
        parts = [_type_of(p, defs) for p in prop["anyOf"] if p.get("type") != "null"]
        return " \\| ".join(parts) if parts else "null"
    t = prop.get("type", "any")
    if t == "array":
        return f"list of {_type_of(prop.get('items', {}), defs)}"
    if t == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"map of {_type_of(prop['additionalProperties'], defs)}"
    return "mapping" if t == "object" else str(t)


def _limits(prop: dict[str, Any]) -> str:
    bits = []
    for key, label in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("minLength", "min length"),
                       ("maxLength", "max length")):
        if key in prop:
            bits.append(f"{label} {prop[key]}")
    return ", ".join(bits)


def _section(name: str, schema: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    if "enum" in schema:  # an enum: its values, not an (empty) field table
        meaning = _enum_notes(name)
        lines += ["| value | meaning |", "|---|---|"]
        lines += [f"| `{v}` | {meaning.get(str(v), '')} |" for v in schema["enum"]]
        return lines + [""]
    lines += ["| field | type | required | default | notes |", "|---|---|---|---|---|"]
    required = set(schema.get("required", []))
    for field, prop in schema.get("properties", {}).items():
        default = prop.get("default")
        shown = "" if default is None else f"`{default}`"
        notes = " ".join(str(prop.get("description", "")).split())
        limits = _limits(prop)
        notes = "; ".join(x for x in (notes, limits) if x)
        lines.append(f"| `{field}` | {_type_of(prop, defs)} | {'yes' if field in required else ''} | {shown} | {notes} |")
    return lines + [""]


def config_reference_markdown() -> str:
    """The whole reference page as Markdown."""
    schema = dynamodb_table_config_schema()
    defs = schema.get("$defs", {})
    out = ["# Configuration reference", "",
           "Generated from the JSON Schema of `ddbkit.config.TableConfig` (`ddbkit schema --markdown`); the",
           "schema itself is `docs/schema/dynamodb-table.schema.json`. Beyond these types, `ddbkit validate`",
           "checks DynamoDB's own rules (key schema, attribute definitions, index limits, billing, streams, TTL,",
           "AWS Backup schedules, DAX names, KMS ids, autoscaling; every rule id is in rules.md) and the",
           "compliance tier (compliance.md).",
           ""]
    out += _component_level()
    out += _section("TableConfig (the `config:` block)", schema, defs)
    for name in sorted(defs):
        out += _section(name, defs[name], defs)
    return "\n".join(out).rstrip() + "\n"


def _component_level() -> list[str]:
    """The file around the ``config:`` block: the top level, a component, a bind."""
    comp = Component.model_json_schema(by_alias=True)
    bind = Bind.model_json_schema(by_alias=True)
    out = ["## The component file", "",
           "A file is a mapping with a `components:` list. Every",
           "component has a `name` (unique in the file) and a `type`. `ddbkit` models the `config:` of",
           "`dynamodb-table` components; components of any other type (`lambda-api`, `s3-bucket`, ...) pass",
           "through unchecked except for their `binds:`, which must each name a `dynamodb-table` component of",
           "the same file (`ddbkit bind` turns them into IAM policies and environment variables).", "",
           "```yaml",
           "complianceFramework: fedramp-moderate   # optional: the default tier of every table below",
           "components:",
           "  - name: sessions",
           "    type: dynamodb-table",
           "    config: {tableName: Sessions, ...}   # TableConfig, below",
           "  - name: api",
           "    type: lambda-api",
           "    binds:",
           "      - {to: sessions, access: read-write}",
           "```", "",
           "For one table, the file may instead be that table's config on its own: the fields of",
           "[TableConfig](#tableconfig-the-config-block) at the top level, with `tableName` and without",
           "`components:` (the content of a `config:` block, not the `config:` key itself). It is read as one",
           "`dynamodb-table` component named after `tableName`; it has no `binds:` (use the `components:` form",
           "for those), and its `complianceFramework` is the table's own.", "",
           "<!-- bare-config -->",
           "```yaml",
           "tableName: Sessions",
           "attributeDefinitions: [{attributeName: pk, attributeType: S}]",
           "keySchema: [{attributeName: pk, keyType: HASH}]",
           "```", "",
           "Config keys are the camelCase names below; a snake_case spelling (`table_name`) is refused with the",
           "camelCase name to use (`schema.snake-case`). Booleans are YAML's unquoted `true`/`false` (or",
           "`yes`/`no`); a quoted `'yes'` or a number is refused (`schema.bool_type`). Plain YAML only: anchors",
           "and merge keys work, tags other than the standard types (`!!python/...`, custom `!tag`) are",
           "refused (`yaml.tag`).", "",
           "| top-level field | type | required | default | notes |", "|---|---|---|---|---|",
           "| `components` | list of [Component](#component) | yes |  | |",
           "| `complianceFramework` | [ComplianceFramework](#complianceframework) |  |  | default tier of every "
           "table that does not set its own |", ""]
    comp_defs = {**comp.pop("$defs", {})}
    out += _section("Component", {**comp, "description": (
        "An entry of `components:`. `config` is a [TableConfig](#tableconfig-the-config-block) when `type` is "
        "`dynamodb-table`, and is passed through for any other type.")}, comp_defs)
    out += _section("Bind", bind, {})
    return out


def rules_reference_markdown() -> str:
    """docs/rules.md: every rule id of the registry, what it checks and the documented limit behind it."""
    from ddbkit.config import RULES

    scopes = {"loader": "Reading the file", "table": "A table's config (DynamoDB and AWS rules)",
              "file": "Components and binds",
              "warning": "Warnings (`ddbkit validate` prints them on stderr; the config is still valid)"}
    out = ["# Config rules", "",
           "Generated from the rule registry in `ddbkit/config/rules.py` (`ddbkit rules --markdown`); a test keeps",
           "this page current. Every error `ddbkit validate` prints ends with one of these ids in brackets, e.g.",
           "`components[0].config.localSecondaryIndexes[0]: ... [lsi.table-range]`. Compliance-tier refusals",
           "are listed in compliance.md.", ""]
    for scope, title in scopes.items():
        out += [f"## {title}", "", "| rule | checks | source |", "|---|---|---|"]
        for r in RULES.values():
            if r.scope == scope:
                text = " ".join(r.text.split()).replace("|", "\\|")
                source = r.source.replace("|", "\\|")
                out.append(f"| `{r.id}` | {text} | {source} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
