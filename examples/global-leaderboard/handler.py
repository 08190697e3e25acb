"""Leaderboard API: submit scores (keep each player's best, conditionally) and read the top N.

Table GlobalLeaderboard (PK/SK, GSI ScoreIndex on board + score), single-table design with typed models:
a player's best on a board is a ``Score`` (PK=PLAYER#<id>, SK=BOARD#<board>), a board's snapshot a
``Top10`` (PK=BOARD#<board>, SK=TOP10). Env: LEADERBOARD_TABLE. Events: {"action": "submit", "board",
"playerId", "playerName", "score", "region"} and {"action": "top", "board", "limit"}.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from ddbkit import ConditionalCheckFailed, Table
from ddbkit.models import Model, TypedTable


class Score(Model, entity="Score", pk="PLAYER#{player_id}", sk="BOARD#{board}", alias_generator=to_camel):
    player_id: str
    board: str
    player_name: str
    score: int
    region: str = "us-east-1"


class Entry(BaseModel):
    player: str
    name: str
    score: int


class Top10(Model, entity="Top10", pk="BOARD#{board}", sk="TOP10"):
    board: str
    top: list[Entry]


_table: Table | None = None


def table() -> Table:
    global _table
    if _table is None:
        _table = Table(os.environ["LEADERBOARD_TABLE"], key=("PK", "SK"))
    return _table


def scores() -> TypedTable[Score]:
    return table().typed(Score)


def snapshots() -> TypedTable[Top10]:
    return table().typed(Top10)


def submit(board: str, player_id: str, player_name: str, score: int, region: str = "us-east-1") -> bool:
    """Record ``score`` if it beats the player's best on ``board``; True when it did."""
    try:
        scores().update({"player_id": player_id, "board": board},
                        set={"score": score, "board": board, "player_name": player_name, "region": region},
                        condition=Score.attr("score").not_exists() | (Score.attr("score") < score), must_exist=False)
        return True
    except ConditionalCheckFailed:
        return False


def top_entries(board: str, limit: int = 10) -> list[Entry]:
    page = scores().query(Score.key("board").eq(board), index="ScoreIndex", forward=False, limit=limit)
    return [Entry(player=s.player_id, name=s.player_name, score=s.score) for s in page.items]


def top(board: str, limit: int = 10) -> list[dict[str, Any]]:
    return [e.model_dump() for e in top_entries(board, limit)]


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if event.get("action") == "submit":
        improved = submit(event["board"], event["playerId"], event["playerName"], int(event["score"]),
                          event.get("region", "us-east-1"))
        return {"statusCode": 200, "improved": improved}
    if event.get("action") == "top":
        return {"statusCode": 200, "top": top(event["board"], int(event.get("limit", 10)))}
    return {"statusCode": 400, "error": "unknown action"}
