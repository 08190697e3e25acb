"""``ddbkit local``: a local DynamoDB-compatible endpoint (moto's server) for development."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    group.add_command(local)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
def local(host: str, port: int) -> None:
    """Run moto's server in the foreground (DynamoDB, Streams, S3, CloudWatch, Backup, ...). Ctrl-C stops it."""
    from ddbkit_infra.local import serve

    serve(host=host, port=port)
