"""Placeholder engine (filled in the next commit): steps aside for every call."""

from __future__ import annotations

from typing import Any


class Engine:
    def __init__(self, client: Any) -> None:
        self.client = client

    def call(self, operation: str, params: dict[str, Any]) -> tuple[bool, Any]:
        return False, None
