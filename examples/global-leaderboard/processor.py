"""Rank updater: when a score changes, refresh the board's top-10 snapshot item (BOARD#<b> / TOP10).

Reads the new top 10 through ScoreIndex once per board per batch, whatever the number of score records.
Env: LEADERBOARD_TABLE.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ddbkit.streams.records import StreamRecord

from ddbkit.streams.processors import BatchStreamProcessor

import handler as api  # the sibling module: Lambda puts the function directory on sys.path


class RankUpdater(BatchStreamProcessor):
    def on_batch(self, records: list[StreamRecord]) -> Iterable[StreamRecord] | None:
        boards = set()
        for r in records:
            keys = r.keys
            if not str(keys.get("PK", "")).startswith("PLAYER#"):
                continue  # our own snapshot writes come back through the stream: ignore them
            if r.event_name in ("INSERT", "MODIFY") and r.changed("score"):
                new = r.new_as(api.Score)
                if new is not None:
                    boards.add(new.board)
        for board in sorted(boards):
            api.snapshots().put(api.Top10(board=board, top=api.top_entries(board, 10)))
        return None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return RankUpdater().handler(event, context)
