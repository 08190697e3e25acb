"""The repository's example component files, and a way to reach a local server off loopback (tests' helpers).

``EXAMPLE_NAMES``: every ``examples/*/component.yaml``; :func:`example_path` / :func:`example_tables`: a file's
path and its table names; :func:`off_loopback`: ``endpoint_url`` through this machine's non-loopback address
(an emulator in another container is reached that way), or a skip when the machine has none.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ddbkit.config import load_component_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_NAMES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/component.yaml"))


def example_path(example: str) -> str:
    """``examples/<example>/component.yaml`` as a string path."""
    return str(ROOT / "examples" / example / "component.yaml")


def example_tables(example: str) -> list[str]:
    """The DynamoDB table names of an example's table components, in file order."""
    return [t.table_name for t in load_component_file(example_path(example)).tables.values()]


def off_loopback(endpoint_url: str) -> str:
    """``endpoint_url`` through this machine's non-loopback IPv4 address (DynamoDB Local listens on every
    interface): to ddbkit an endpoint that is not on loopback. Skips the test when there is no such address."""
    import socket
    from urllib.parse import urlsplit

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = str(probe.getsockname()[0])
    except OSError as err:
        pytest.skip(f"this machine has no non-loopback IPv4 address ({err})")
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    return f"http://{address}:{urlsplit(endpoint_url).port}"
