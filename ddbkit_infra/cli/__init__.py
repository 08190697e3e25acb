"""The ``ddbkit`` command line.

Each capability registers its commands from its own module (``config_cmds``, ``local_cmds``, ...); the
modules import their heavy dependencies inside the command functions so ``ddbkit --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

# Modules that add commands to :data:`cli`. Each defines ``register(group)``.
COMMAND_MODULES: tuple[str, ...] = (
    "ddbkit_infra.cli.config_cmds",
    "ddbkit_infra.cli.local_cmds",
    "ddbkit_infra.cli.provision_cmds",
    "ddbkit_infra.cli.demo_cmds",
    "ddbkit_infra.cli.ops_cmds",
    "ddbkit_infra.cli.streams_cmds",
    "ddbkit_infra.cli.bulk_cmds",
    "ddbkit_infra.cli.console_cmds",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog="Exit codes: 0 ok; 1 findings (invalid config, failed audit control, refused change) or a "
                    "failed operation; 2 usage error (plan --detailed-exitcode: 2 means changes are pending). "
                    "Errors print 'error: <what>: <why>'. Commands that call AWS take --region and --profile; "
                    "with neither --region nor AWS_REGION (or a profile region) they fail.")
@click.version_option(package_name="ddbkit")
def cli() -> None:
    """ddbkit: DynamoDB tables from one config: validate, provision, bind, operate."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(cli)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point; exit code 1 on a handled error, 2 on usage errors."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="ddbkit", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
