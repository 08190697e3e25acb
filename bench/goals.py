"""The goal lines every bench prints (issue 26), and the interleaved-rounds measurement they come from.

A goal line reads ``GOAL <group> | <measure>, <item> item, <variant> vs <peer>: ddbkit X <unit> | <peer> Y <unit>
| ratio R (goal <= G) PASS`` where the ratio is ddbkit CPU / peer CPU (below 1 is better for ddbkit) measured in
the same process and run. Contenders are interleaved: every round measures each contender once, in turn, and
the median over the rounds is kept, so a burst of load from elsewhere hits ddbkit and its peers alike.
``bench.run_all`` collects the GOAL lines into one table per group.

``DDBKIT_BENCH_QUICK=1`` (``python -m bench.run_all --quick``) shrinks every budget and round count so the
whole run takes about a minute: the lines are the same, the figures are noisy. Never a timed test: no test
asserts a figure, only that every goal line is printed.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable

QUICK = os.environ.get("DDBKIT_BENCH_QUICK") == "1"
ROUNDS = int(os.environ.get("DDBKIT_BENCH_ROUNDS", "1" if QUICK else "5"))
BUDGET = float(os.environ.get("DDBKIT_BENCH_BUDGET", "0.05" if QUICK else "0.6"))  # seconds per contender/round

# group id -> title, in print order
GROUPS: dict[str, str] = {
    "write": "Bulk write (batch_write, generator input): client CPU per item written",
    "query": "Query (full 1 MB pages): client CPU per item read",
    "single": "Single calls (GetItem / PutItem / UpdateItem): client CPU per call",
    "streams": "Streams (NEW_AND_OLD_IMAGES, handler reads both images): CPU per record",
    "rate": "Throughput at 10 ms RTT, 16 requests in flight",
    "cold": "Cold start: import + client + first GetItem, fresh interpreter",
    "memory": "Memory: peak RSS of a generator bulk write",
}


def interleaved(contenders: dict[str, Callable[[], float]], rounds: int = ROUNDS) -> dict[str, float]:
    """Median per contender of ``fn()`` (one measurement, e.g. CPU µs per item) over ``rounds`` rounds, the
    contenders measured in turn inside every round."""
    seen: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            seen[name].append(fn())
    return {name: statistics.median(values) for name, values in seen.items()}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def ratio_line(group: str, measure: str, item: str, variant: str, peer: str, ours: float, theirs: float,
               unit: str, goal: float) -> str:
    """A ``ddbkit / peer <= goal`` line (CPU: lower is better)."""
    r = ours / theirs
    return (f"GOAL {group} | {measure}, {item} item, {variant} vs {peer}: ddbkit {ours:,.2f} {unit} | {peer} "
            f"{theirs:,.2f} {unit} | ratio {r:.3f} (goal <= {goal:g}) {verdict(r <= goal)}")


def share_line(group: str, measure: str, item: str, variant: str, ours: float, limit: float, unit: str,
               goal: float) -> str:
    """A ``ddbkit / limit >= goal`` line (throughput as a share of what the protocol allows)."""
    r = ours / limit
    return (f"GOAL {group} | {measure}, {item} item, {variant} vs limit: ddbkit {ours:,.0f} {unit} | limit "
            f"{limit:,.0f} {unit} | {r:.0%} of the limit (goal >= {goal:.0%}) {verdict(r >= goal)}")
