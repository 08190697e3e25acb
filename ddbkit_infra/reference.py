"""The configuration reference (docs/configuration.md), generated from the JSON Schema of the model.

``ddbkit schema --markdown`` prints it; a test keeps the committed page equal to what this produces, so
the reference cannot drift from the model.
"""

from __future__ import annotations

from typing import Any

from ddbkit.config import dynamodb_table_config_schema

__all__ = ["config_reference_markdown"]


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
    if t == "object" and "additionalProperties" in prop:
        return f"map of {_type_of(prop['additionalProperties'], defs)}"
    return str(t)


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
           "AWS Backup schedules, DAX names, KMS ids, autoscaling) and the compliance tier; see compliance.md.",
           ""]
    out += _section("TableConfig (the `config:` block)", schema, defs)
    for name in sorted(defs):
        out += _section(name, defs[name], defs)
    return "\n".join(out).rstrip() + "\n"
