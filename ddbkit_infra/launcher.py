"""The ``ddbkit`` console script: checks that the ``cli`` extra is installed, then runs the CLI.

``pip install ddbkit`` is the runtime only (boto3, orjson, tenacity); the command line needs click, rich,
pydantic and PyYAML, which come with ``pip install 'ddbkit[cli]'``. Without them a bare ``ddbkit`` would
die in a traceback on ``import click``; this module says which extra to install instead (one line, exit 2,
the usage-error code). It imports nothing beyond the standard library before the check.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

__all__ = ["CLI_MODULES", "main", "missing_cli_modules"]

#: Import name -> distribution name, for every module the command line needs beyond the runtime.
CLI_MODULES: dict[str, str] = {"click": "click", "rich": "rich", "pydantic": "pydantic", "yaml": "PyYAML"}


def missing_cli_modules() -> list[str]:
    """Distribution names of the ``cli`` extra's packages that cannot be imported here."""
    return [dist for module, dist in CLI_MODULES.items() if importlib.util.find_spec(module) is None]


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: exit 2 with an install hint when the ``cli`` extra is missing, else run the CLI."""
    missing = missing_cli_modules()
    if missing:
        sys.stderr.write(f"ddbkit: the command line needs the 'cli' extra (missing: {', '.join(missing)}); "
                         "install it with: pip install 'ddbkit[cli]'\n")
        raise SystemExit(2)
    from ddbkit_infra.cli import main as cli_main

    cli_main(argv)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
