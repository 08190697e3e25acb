"""Loading a component file: YAML with line marks, the pydantic models, then every rule of the registry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .model import (
    MAX_CONFIG_BYTES,
    ComplianceFramework,
    Component,
    ComponentFile,
    ConfigError,
    ConfigIssue,
    Path_,
    TableConfig,
    DuplicateKey,
    YamlAliases,
    pydantic_issues,
    with_line,
    yaml_with_lines,
)
from .rules import FileContext, check_file_rules, check_table_config

__all__ = ["load_component_file", "load_component_text", "parse_table_config"]


def parse_table_config(data: Mapping[str, Any], prefix: Path_ = ()) -> TableConfig:
    """Build and fully check a :class:`TableConfig` from a camelCase mapping; raise :class:`ConfigError`.

    Keys are the spec's camelCase names only: a snake_case key (``table_name``) is refused with the
    camelCase name to use (``schema.snake-case``). Python code builds models by attribute name as before.
    """
    try:
        cfg = TableConfig.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as err:
        raise ConfigError(pydantic_issues(err, prefix)) from None
    issues = [ConfigIssue((*prefix, *i.path), i.rule, i.message) for i in check_table_config(cfg)]
    if issues:
        raise ConfigError(issues)
    return cfg


def load_component_text(text: str, source: str = "<string>") -> ComponentFile:
    """Parse a component file (YAML) and validate every ``dynamodb-table`` config and every bind."""
    import yaml

    if len(text) > MAX_CONFIG_BYTES or len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise ConfigError([ConfigIssue((), "yaml.size", f"the file is larger than {MAX_CONFIG_BYTES} bytes: "
                                       "not a component config")], source)
    try:
        data, lines = yaml_with_lines(text)
    except YamlAliases as err:
        raise ConfigError([ConfigIssue((), err.rule, err.message, err.line)], source) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        # keep PyYAML's own layout: the problem, the line and a caret under the column
        raise ConfigError([ConfigIssue((), "yaml.syntax", str(err), line)], source) from None
    except DuplicateKey as dup:
        raise ConfigError([ConfigIssue(dup.path, "yaml.duplicate-key",
                                       f"key {dup.path[-1]!r} appears twice", dup.line)], source) from None

    if isinstance(data, Mapping) and "components" not in data and "tableName" in data:
        data = {"components": [{"name": data["tableName"], "type": "dynamodb-table", "config": data}]}
        lines = {("components", 0, "config", *k): v for k, v in lines.items()}
    issues: list[ConfigIssue] = []
    components: list[Component] = []
    tables: dict[str, TableConfig] = {}
    failed: set[str] = set()  # table components whose own config is wrong: binds to them stay quiet
    if not isinstance(data, Mapping) or not isinstance(data.get("components"), list):
        issues.append(ConfigIssue(("components",), "file.shape",
                                  "expected a mapping with a 'components:' list (or a bare table config)"))
    else:
        default_tier = data.get("complianceFramework")
        if default_tier is not None and (not isinstance(default_tier, str)
                                         or default_tier not in {f.value for f in ComplianceFramework}):
            # reported once, on its own path, not as an error inside every table config
            issues.append(ConfigIssue(("complianceFramework",), "schema.enum",
                                      f"complianceFramework must be one of "
                                      f"{', '.join(repr(f.value) for f in ComplianceFramework)}; got {default_tier!r}"))
            default_tier = None
        for i, raw in enumerate(data["components"]):
            try:
                comp = Component.model_validate(raw, by_alias=True, by_name=False)
            except ValidationError as err:
                issues += pydantic_issues(err, ("components", i))
                continue
            components.append(comp)
            if comp.type == "dynamodb-table":
                cfg_data = dict(comp.config)
                if default_tier is not None:
                    cfg_data.setdefault("complianceFramework", default_tier)
                try:
                    tables[comp.name] = parse_table_config(cfg_data, ("components", i, "config"))
                except ConfigError as err:
                    issues += err.issues
                    failed.add(comp.name)
        issues += check_file_rules(FileContext(components, tables, frozenset(failed)))
    if issues:
        raise ConfigError([with_line(i, lines) for i in issues], source)
    return ComponentFile(components=components, tables=tables, source=source, lines=lines)


def load_component_file(path: str | Path) -> ComponentFile:
    """Load and validate a component YAML file (see :func:`load_component_text`).

    The size limit is checked before reading (``stat``), and the read itself stops one byte past it (a
    file growing meanwhile, a FIFO), so a huge file never reaches memory.
    """
    p = Path(path)
    too_big = ConfigError([ConfigIssue((), "yaml.size", f"the file is larger than {MAX_CONFIG_BYTES} bytes: "
                                       "not a component config")], str(p))
    try:
        if p.stat().st_size > MAX_CONFIG_BYTES:
            raise too_big
        with p.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise ConfigError([ConfigIssue((), "file.read", f"cannot read {p}: {err.strerror}")], str(p)) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise too_big
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError([ConfigIssue((), "file.read", f"cannot read {p}: not UTF-8 text (byte {err.start})")],
                          str(p)) from None
    return load_component_text(text, str(p))
