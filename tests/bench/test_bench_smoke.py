"""bench/ prints every goal of issue 26: ``python -m bench.run_all --quick`` runs end to end and prints a PASS
or MISS line for each goal, both items, sync and async, with the machine, the load average and the command.

Never a timed test: nothing here asserts a figure, only that each goal line is there and well formed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.goals import GROUPS, ratio_line, share_line
from bench.run_all import EXPECTED, goals

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(PASS|MISS): .+: ddbkit [\d,.]+ \S+ \| .+ [\d,.]+ \S+ \| .*\(goal [<>]= [\d.%]+\)$")


def test_goals_report_every_expected_goal_and_the_missing_ones() -> None:
    """The goal table keeps every GOAL line and names each expected goal no bench line measured."""
    lines = [ratio_line("write", "bulk write per item (generator input, 16 in flight)", "small", "ddbkit fast sync",
                        "aiodynamo 16 tasks", 1.0, 4.0, "µs/item", 0.5),
             share_line("rate", "items/s at 10 ms RTT, 16 in flight", "nested", "ddbkit fast async", 30_000, 40_000,
                        "items/s", 0.5),
             "some other line"]
    found = goals(lines)
    measured = [g for g in found if g.status != "not measured"]
    assert [g.status for g in measured] == ["PASS", "PASS"]
    assert len(found) == 2 + len(EXPECTED) - 2  # the two measured ones, every other expected goal missing
    assert {g.group for g in found} == set(GROUPS)


@pytest.mark.slow
def test_run_all_quick_prints_every_goal() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "bench.run_all", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "== command: " in out and "-m bench.run_all --quick" in out
    assert re.search(r"machine: .+ \d+ cores, .+", out) and re.search(r"^Python 3\.\d+", out, re.M)
    assert re.search(r"load average before [\d.]+, [\d.]+, [\d.]+, after [\d.]+, [\d.]+, [\d.]+", out)
    verdicts = [line for line in out.splitlines() if line.startswith(("PASS: ", "MISS: ", "not measured: "))]
    assert not [v for v in verdicts if v.startswith("not measured")], out
    for group, text in EXPECTED:
        hits = [v for v in verdicts if text in v]
        assert hits, f"no goal line for {group}: {text}"
        assert all(LINE.match(h) for h in hits), hits
    for title in GROUPS.values():
        assert f"-- {title}" in out
    assert re.search(r"== \d+ of \d+ goals met", out)


@pytest.mark.parametrize("kind", ["small", "nested"])
def test_stub_fills_query_pages_to_1mb_like_dynamodb(kind: str) -> None:
    """The bench stub answers a Query as DynamoDB does: as many items as fit in 1 MB by DynamoDB's item-size
    rule, a LastEvaluatedKey while pages remain, and a CRC32 header the fast transport checks."""
    from bench.items import WIRE
    from bench.stub_server import StubConfig, StubServer
    from ddbkit import Table
    from ddbkit.core.codec import item_size, unmarshal_item

    with StubServer(StubConfig(page_size=0, pages=2, item=kind)) as stub:
        table = Table("Bench", key=("pk", "sk"), transport="fast", endpoint_url=stub.endpoint_url,
                      region_name="us-east-1")
        try:
            first = table.query({"pk": "p"})
            second = table.query({"pk": "p"}, cursor=first.cursor)
        finally:
            table.close()
    one = item_size({"pk": {"S": "p"}, "sk": {"S": "000000-000000"}, **WIRE[kind]})
    assert len(first.items) == len(second.items) == (1024 * 1024) // one
    assert len(first.items) * one <= 1024 * 1024 < (len(first.items) + 1) * one
    assert first.cursor and second.cursor is None
    assert {k: v for k, v in first.items[0].items() if k not in ("pk", "sk")} == unmarshal_item(WIRE[kind])
