"""``ddbkit console``: a local web console that knows the component (the ``console`` extra).

Pages: the tables of the component files and of the endpoint; explore (query any index from a form
built from its key schema, scan, PartiQL) with consumed capacity and item sizes; items (view, create,
edit, delete, with an optimistic condition so an item that changed since it was shown is never
overwritten); the table's stream live; capacity over a window with recommendations; the component's plan
and audit against the live table. Safety: loopback by default, a token for any other host, CSRF tokens on
every form, read-only against AWS unless ``--allow-writes``, no item value in any log.

``create_app`` and ``serve`` import Starlette, uvicorn and Jinja2 (the extra) only when called.
"""

from __future__ import annotations

from typing import Any

from ddbkit_infra.console.state import ConsoleSettings, ConsoleState

__all__ = ["ConsoleSettings", "ConsoleState", "create_app", "missing_extra", "serve"]


def missing_extra() -> str | None:
    """The first package of the ``console`` extra that is not installed, or None."""
    import importlib.util

    for module in ("starlette", "uvicorn", "jinja2", "multipart"):
        if importlib.util.find_spec(module) is None:
            return module
    return None


def create_app(settings: ConsoleSettings | ConsoleState) -> Any:
    """The console as an ASGI application (see :mod:`ddbkit_infra.console.app`)."""
    from ddbkit_infra.console.app import create_app as make

    return make(settings)


def serve(settings: ConsoleSettings) -> None:
    """Run the console with uvicorn until Ctrl-C (no access log: URLs carry item keys)."""
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, access_log=False,
                log_level="info", timeout_graceful_shutdown=2)
