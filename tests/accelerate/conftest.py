"""Fixtures for the accelerate tests: a process-wide ``accelerate()`` undone after each test, and a socket
guard that fails the test if anything tries to leave the process."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

import ddbkit


@pytest.fixture
def accelerated() -> Iterator[Any]:
    """``ddbkit.accelerate()`` for the test, undone afterwards."""
    handle = ddbkit.accelerate()
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Any socket connect (TCP or UDP, any address) fails the test: the calls must be answered in-process."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any, *args: Any) -> Any:
        attempts.append(address)
        raise AssertionError(f"a connection to {address!r} left the process")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts
