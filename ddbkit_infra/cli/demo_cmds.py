"""``ddbkit demo``: the project's main job on the embedded local backend (see ddbkit_infra.demo)."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    group.add_command(demo)


@click.command()
@click.option("--endpoint-url", help="Run against this endpoint instead of the embedded moto server.")
@click.option("--aws", "use_aws", is_flag=True, help="Run against real AWS (credentials and region from the environment).")
@click.option("--sessions", default=10_000, show_default=True, help="How many sessions to write.")
@click.option("--out-dir", default=".ddbkit-demo", show_default=True, help="Where the template is written.")
def demo(endpoint_url: str | None, use_aws: bool, sessions: int, out_dir: str) -> None:
    """Provision the session-store example and exercise every capability on it, then summarise.

    With no option it starts moto's server on a free port: no AWS account needed.
    """
    from ddbkit_infra.demo import run_demo

    run_demo(endpoint_url=endpoint_url, use_aws=use_aws, sessions=sessions, out_dir=out_dir)
