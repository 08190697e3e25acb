"""``ddbkit console``: the local web console (the ``console`` extra; :mod:`ddbkit_infra.console`)."""

from __future__ import annotations

import click

from ddbkit_infra.cli.common import PROFILE_HELP, REGION_HELP, fail, resolve_region, session


def register(group: click.Group) -> None:
    group.add_command(console)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, exists=True))
@click.option("--endpoint-url", help="DynamoDB endpoint (DynamoDB Local, `ddbkit local`); default: AWS.")
@click.option("--region", help=REGION_HELP)
@click.option("--profile", help=PROFILE_HELP)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any other than loopback needs the token printed at start.")
@click.option("--port", default=8008, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--model", "models", multiple=True, metavar="NAME=module:Class",
              help="Validate the items of table or component NAME as this ddbkit.models.Model before saving "
                   "(repeatable).")
@click.option("--allow-writes", is_flag=True,
              help="Allow creating, editing and deleting items against AWS (a local endpoint always allows it).")
def console(files: tuple[str, ...], endpoint_url: str | None, region: str | None, profile: str | None, host: str,
            port: int,
            models: tuple[str, ...], allow_writes: bool) -> None:
    """Serve a web console for the tables of FILE(s) and those on the endpoint.

    Pages: tables, explore (query any index, scan, PartiQL), items (view, create, edit, delete), the
    table's stream live, capacity with recommendations, and the component's plan and audit. Listens on
    127.0.0.1 unless --host; read-only against AWS unless --allow-writes. Ctrl-C stops it.
    """
    from ddbkit.config import ConfigError
    from ddbkit.errors import ConfigurationError

    from ddbkit_infra.console import ConsoleSettings, missing_extra

    missing = missing_extra()
    if missing:
        fail(f"console: needs the '{missing}' package of the console extra: pip install 'ddbkit[console]'", 2)
    region = resolve_region(region, profile)  # the one region rule: no region, no console (exit 2)
    if profile:
        session(region, profile)  # an unknown profile: one line naming it (exit 2)
    bad = [m for m in models if "=" not in m]
    if bad:
        fail(f"--model {bad[0]!r}: give it as NAME=module:Class", 2)
    try:
        settings = ConsoleSettings.for_host(host, files=list(files), endpoint_url=endpoint_url, region=region,
                                            profile=profile, port=port, allow_writes=allow_writes,
                                            models=dict(m.split("=", 1) for m in models))
        from ddbkit_infra.console import ConsoleState, create_app

        state = ConsoleState(settings)
    except (ConfigError, ConfigurationError) as err:
        fail(str(err))
    import uvicorn

    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}/" + (f"?token={settings.token}" if settings.token else "")
    mode = "read-write" if state.writes_allowed else "read-only (--allow-writes to change items)"
    click.echo(f"ddbkit console on {url}  ({endpoint_url or 'AWS'}, {mode}; Ctrl-C stops it)")
    uvicorn.run(create_app(state), host=host, port=port, access_log=False, log_level="warning",
                timeout_graceful_shutdown=2)
