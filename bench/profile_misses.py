"""Where the time goes on the goals bench/ misses: GC time per item (``gc.callbacks``), user/system time and
context switches (``getrusage``), and cProfile top entries, for a nested/small bulk write, a Query of full 1 MB pages and single GetItem calls.

Run: ``.venv/bin/python -m bench.profile_misses [write|query|get|decode ...]`` (not part of ``bench.run_all``: a
profile, not a goal). Against bench/stub_server.py in its own process. Figures are under cProfile where a
profile is printed (so inflated); the GC and system-time figures are what docs/performance.md quotes.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import pstats
import resource
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from bench.items import ITEMS
from bench.stub_server import StubProcess, fake_aws_env

_GC: list[float] = []


def _gc_timer(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _GC.append(-time.perf_counter())
    else:
        _GC[-1] += time.perf_counter()


def measure(label: str, fn: Callable[[], Any], units: int, unit: str = "item", profile: bool = True) -> None:
    fn()  # warm up
    _GC.clear()
    gc.callbacks.append(_gc_timer)
    pr = cProfile.Profile()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    if profile:
        pr.enable()
    fn()
    if profile:
        pr.disable()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    gc.callbacks.remove(_gc_timer)
    user, system = (r1.ru_utime - r0.ru_utime) / units * 1e6, (r1.ru_stime - r0.ru_stime) / units * 1e6
    switches = (r1.ru_nvcsw - r0.ru_nvcsw + r1.ru_nivcsw - r0.ru_nivcsw) / units
    print(f"## {label}: user {user:.1f} + system {system:.1f} µs/{unit}{' (under cProfile)' if profile else ''}, "
          f"{switches:.2f} context switches/{unit}, GC {len(_GC)} collections, {sum(_GC) / units * 1e6:.1f} µs/{unit}")
    if profile:
        out = io.StringIO()
        pstats.Stats(pr, stream=out).sort_stats("tottime").print_stats(6)
        print("\n".join(line for line in out.getvalue().splitlines() if "/" in line or "{" in line))


def decode_page() -> None:
    """A parsed 1 MB page of nested items decoded item by item (collector running) vs by ``unmarshal_items``
    (collector paused), mean of 8 (collections come in bursts, a best-of would hide them), without and then with 300k other live objects (as a service holds)."""
    import orjson

    from bench.items import WIRE
    from ddbkit.core.codec import unmarshal_item, unmarshal_items

    page = orjson.dumps({"Items": [{"pk": {"S": "p"}, "sk": {"S": f"{i:06d}"}, **WIRE["nested"]}
                                   for i in range(1041)]})
    parsed = orjson.loads(page)["Items"]

    def best(fn: Callable[[], Any]) -> float:
        times = []
        for _ in range(8):
            c0 = time.process_time()
            fn()
            times.append(time.process_time() - c0)
        return sum(times) / len(times) / len(parsed) * 1e6  # the mean: collections come in bursts

    ballast: list[Any] = []
    for label in ("no other live data", "300k other live objects"):
        if ballast == [] and label.startswith("300k"):
            ballast = [{"a": [i, str(i)]} for i in range(300_000)]
        one = best(lambda: [unmarshal_item(i) for i in parsed])
        page_at_once = best(lambda: unmarshal_items(parsed))
        print(f"## decode of a 1,041-item nested page, {label}: unmarshal_item per item {one:.1f} µs/item | "
              f"unmarshal_items (GC paused) {page_at_once:.1f} µs/item")


def main(which: list[str]) -> None:
    if "decode" in which:
        decode_page()
    fake_aws_env()
    warnings.simplefilter("ignore")  # the unencrypted-cursor warning of query_iter
    from ddbkit import Table
    from ddbkit.aio import AsyncTable

    with StubProcess(table="Bench", page_size=0, pages=2) as stub:
        url = stub.endpoint_url
        if "write" in which:
            for kind in ITEMS:
                t = Table("Bench", key=("pk", "sk"), transport="fast", endpoint_url=url, concurrency=16)
                n = 20_000 if kind == "small" else 4_000
                items = [{"pk": "p", "sk": f"{i:08d}", **ITEMS[kind]} for i in range(n)]
                measure(f"sync batch_write, {kind} item", lambda: t.batch_write(iter(items)),  # noqa: B023
                        len(items), profile=False)
                t.close()
        if "query" in which:
            for kind in ITEMS:
                stub.configure(item=kind)
                t = Table("Bench", key=("pk", "sk"), transport="fast", endpoint_url=url)
                n = sum(1 for _ in t.query_iter({"pk": "p"}))
                measure(f"sync Query, 2 full 1 MB pages, {kind} item",
                        lambda: sum(1 for _ in t.query_iter({"pk": "p"})), n)  # noqa: B023
                t.close()
        if "get" in which:
            stub.configure(item="")
            loop = asyncio.new_event_loop()
            at = AsyncTable("Bench", key=("pk", "sk"), transport="fast", endpoint_url=url)
            t = Table("Bench", key=("pk", "sk"), transport="fast", endpoint_url=url)
            key = {"pk": "p", "sk": "x"}
            measure("sync GetItem", lambda: [t.get(key) for _ in range(500)], 500, "call")
            measure("async GetItem", lambda: [loop.run_until_complete(at.get(key)) for _ in range(500)], 500, "call")
            loop.run_until_complete(at.close())
            loop.close()
            t.close()


if __name__ == "__main__":
    main(sys.argv[1:] or ["write", "query", "get"])
