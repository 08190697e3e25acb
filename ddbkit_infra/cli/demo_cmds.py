"""``ddbkit demo``: the project's main job on the embedded local backend."""

from __future__ import annotations

from pathlib import Path

import click


def register(group: click.Group) -> None:
    group.add_command(demo)


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              default=str(Path("examples/session-store/component.yaml")), show_default=True)
def demo(config_path: str) -> None:
    """Validate the session-store example and print its effective config."""
    from ddbkit_infra.cli.config_cmds import validate

    ctx = click.get_current_context()
    ctx.invoke(validate, file=config_path, component=None, tier=None, as_json=False)
