"""``ddbkit validate``, ``ddbkit schema`` and ``ddbkit rules``."""

from __future__ import annotations

import json
from typing import Any

import click

from ddbkit_infra.cli.common import fail, load_or_exit


def register(group: click.Group) -> None:
    group.add_command(validate)
    group.add_command(schema)
    group.add_command(rules)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--component", "-c", help="Only this table component.")
@click.option("--tier", type=click.Choice(["commercial", "fedramp-moderate", "fedramp-high"]),
              help="Resolve against this compliance tier instead of the config's own.")
@click.option("--json", "as_json", is_flag=True, help="Print the effective config as JSON (no markers).")
def validate(file: str, component: str | None, tier: str | None, as_json: bool) -> None:
    """Check FILE against DynamoDB's rules and its compliance tier; print the effective config.

    Settings filled in by the tier are marked with a comment. Exit code 1 on any error.
    """
    from ddbkit.config import ConfigError
    from ddbkit_infra.component import DynamoDBTableComponent, Validation

    loaded = load_or_exit(file)
    names = [component] if component else list(loaded.tables)
    if component:
        loaded.table(component)
    if not names:
        fail(f"{file}: no dynamodb-table component found")
    results: dict[str, Validation] = {}
    errors: list[str] = []
    for name in names:
        try:  # DynamoDB's rules were checked loading the file; the tier's are checked building the component
            results[name] = DynamoDBTableComponent(loaded, name, tier=tier).validate()
        except ConfigError as err:
            errors += [f"  - {name}: {issue}" for issue in err.issues]
    if errors:
        fail(f"{file}: {len(errors)} compliance error(s):\n" + "\n".join(errors))
    for name, result in results.items():  # advisories (monitoring.notify...): printed, not failed
        for where, message, rule in result.warnings:
            click.secho(f"warning: {file}: {name}: {where}: {message} [{rule}]", fg="yellow", err=True)
    if as_json:
        click.echo(json.dumps({n: r.to_dict() for n, r in results.items()}, indent=2))
        return
    for name, result in results.items():
        click.secho(f"# component {name}: valid ({result.framework.value})", fg="green")
        marks = {d.path: d.reason for d in result.defaults}
        click.echo(render_marked_yaml(result.config.to_yaml_dict(exclude_unset=True), marks))
        if result.defaults:
            click.echo(f"# {len(result.defaults)} setting(s) filled by the tier, marked '# <- default'")


def render_marked_yaml(data: Any, marks: dict[str, str], path: str = "", indent: int = 0) -> str:
    """YAML of ``data`` with ``# <- reason`` after every key whose dotted path is in ``marks``."""
    import yaml

    pad = "  " * indent
    lines: list[str] = []

    def scalar(v: Any) -> str:
        return str(yaml.safe_dump(v, default_flow_style=True, width=10_000)).strip().removesuffix("...").strip()

    def mark(p: str) -> str:
        return f"  # <- {marks[p]}" if p in marks else ""

    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{path}.{k}" if path else str(k)
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:{mark(p)}")
                lines.append(render_marked_yaml(v, marks, p, indent + 1))
            else:
                lines.append(f"{pad}{k}: {scalar(v)}{mark(p)}")
    elif isinstance(data, list):
        for i, v in enumerate(data):
            p = f"{path}[{i}]"
            if isinstance(v, dict) and v:
                body = render_marked_yaml(v, marks, p, indent + 1).splitlines()
                first = body[0].lstrip()
                lines.append(f"{pad}- {first}")
                lines += [f"{pad}  {b[len(pad) + 2:]}" if b.startswith(pad + "  ") else b for b in body[1:]]
            else:
                lines.append(f"{pad}- {scalar(v)}{mark(p)}")
    else:
        lines.append(f"{pad}{scalar(data)}")
    return "\n".join(lines)


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--markdown", is_flag=True, help="The configuration reference page instead of the JSON Schema.")
def schema(output: str | None, markdown: bool) -> None:
    """Print the JSON Schema of a dynamodb-table component's config block (for editors)."""
    from ddbkit.config import dynamodb_table_config_schema

    if markdown:
        from ddbkit_infra.reference import config_reference_markdown

        text = config_reference_markdown()
    else:
        text = json.dumps(dynamodb_table_config_schema(), indent=2) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--markdown", is_flag=True, help="The rules reference page (docs/rules.md) instead of a list.")
def rules(output: str | None, markdown: bool) -> None:
    """List every config rule id validate checks, with what it checks and its source."""
    if markdown:
        from ddbkit_infra.reference import rules_reference_markdown

        text = rules_reference_markdown()
    else:
        from ddbkit.config import RULES

        text = "".join(f"{r.id:<24} {r.summary}\n" for r in RULES.values())
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)
