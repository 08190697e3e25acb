"""Shared CLI helpers: loading a component file with readable errors, output formats."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import click

from ddbkit.config import ComponentFile, ConfigError, load_component_file


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code`` (1: the input or the target is wrong)."""
    click.secho(message, fg="red", err=True)
    raise SystemExit(code)


def load_or_exit(path: str) -> ComponentFile:
    """Load a component file, or print every config error (with YAML lines) and exit 1."""
    try:
        return load_component_file(path)
    except ConfigError as err:
        fail(str(err))


def dump(data: Any, fmt: str) -> str:
    """Render ``data`` as ``json`` or ``yaml``."""
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False, default=str)
    import yaml

    class NoAliasDumper(yaml.SafeDumper):
        """Writes a shared list twice rather than as ``&id001``/``*id001`` (CloudFormation rejects aliases)."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    return str(yaml.dump(data, Dumper=NoAliasDumper, sort_keys=False, default_flow_style=False))
