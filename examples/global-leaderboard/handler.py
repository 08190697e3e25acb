"""Leaderboard API: submit scores (keep each player's best, conditionally) and read the top N.

Table GlobalLeaderboard (PK/SK, GSI ScoreIndex on board + score). Items: PK=PLAYER#<id>, SK=BOARD#<board>.
Env: LEADERBOARD_TABLE. Events: {"action": "submit", "board", "playerId", "playerName", "score", "region"}
and {"action": "top", "board", "limit"}.
"""

from __future__ import annotations

import os
from typing import Any

from ddbkit import Attr, ConditionalCheckFailed, Key, Table, Update

_table: Table | None = None


def table() -> Table:
    global _table
    if _table is None:
        _table = Table(os.environ["LEADERBOARD_TABLE"], key=("PK", "SK"))
    return _table


def submit(board: str, player_id: str, player_name: str, score: int, region: str = "us-east-1") -> bool:
    """Record ``score`` if it beats the player's best on ``board``; True when it did."""
    try:
        table().update({"PK": f"PLAYER#{player_id}", "SK": f"BOARD#{board}"},
                       Update().set("score", score).set("board", board).set("playerName", player_name)
                       .set("region", region),
                       condition=Attr("score").not_exists() | (Attr("score") < score))
        return True
    except ConditionalCheckFailed:
        return False


def top(board: str, limit: int = 10) -> list[dict[str, Any]]:
    page = table().query(Key("board").eq(board), index="ScoreIndex", forward=False, limit=limit)
    return [{"player": it["PK"].removeprefix("PLAYER#"), "name": it.get("playerName"), "score": it["score"]}
            for it in page.items]


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if event.get("action") == "submit":
        improved = submit(event["board"], event["playerId"], event["playerName"], int(event["score"]),
                          event.get("region", "us-east-1"))
        return {"statusCode": 200, "improved": improved}
    if event.get("action") == "top":
        return {"statusCode": 200, "top": top(event["board"], int(event.get("limit", 10)))}
    return {"statusCode": 400, "error": "unknown action"}
