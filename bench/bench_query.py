"""Query per item read, GetItem/PutItem/UpdateItem per call, and cold start: ddbkit vs its peers (issue 26).

Run: ``.venv/bin/python -m bench.bench_query``. bench/stub_server.py (own process, no latency) answers a
query with :data:`PAGES` full 1 MB pages (as many items as DynamoDB fits, of each bench/items.py item in
turn) linked by LastEvaluatedKey; each client reads every page and turns every item into plain Python:
ddbkit ``Table(transport="fast").query_iter`` and ``AsyncTable``, boto3's resource ``Table.query`` and
aiodynamo's ``Client.query``. Then GetItem, PutItem and UpdateItem per call (plain Python in and out) for
ddbkit sync/async vs boto3's resource Table and aiodynamo. CPU is this process's CPU time; contenders are
interleaved over rounds (bench/goals.py) and the median kept. Goals: query <= 0.5x aiodynamo and <= 0.1x
boto3; single calls <= 0.1x boto3; async single calls <= 0.5x aiodynamo; cold start (import + client +
first GetItem, fresh interpreters, median) <= 0.6x boto3's: the fast transport resolves credentials on its
first request, so the import-time figure alone would flatter it.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.goals import BUDGET, QUICK, interleaved, ratio_line
from bench.stub_server import StubProcess, fake_aws_env

TABLE = "Bench"
PAGES = 1 if QUICK else 2  # full 1 MB pages (the stub fills them as DynamoDB does) per pagination


def ddbkit_reader(url: str, transport: str) -> tuple[Callable[[], int], Callable[[], None]]:
    from ddbkit import Table

    table = Table(TABLE, key=("pk", "sk"), transport=transport, endpoint_url=url)
    return (lambda: sum(1 for _ in table.query_iter({"pk": "p"}))), table.transport.close


def ddbkit_async_reader(url: str) -> tuple[Callable[[], int], Callable[[], None]]:
    from ddbkit.aio import AsyncTable

    loop = asyncio.new_event_loop()
    table = AsyncTable(TABLE, key=("pk", "sk"), transport="fast", endpoint_url=url)

    async def read() -> int:
        return len([item async for item in table.query_iter({"pk": "p"})])

    def close() -> None:
        loop.run_until_complete(table.close())
        loop.close()

    return (lambda: loop.run_until_complete(read())), close


def aiodynamo_reader(url: str) -> tuple[Callable[[], int], Callable[[], None]]:
    import aiohttp
    from aiodynamo.client import Client
    from aiodynamo.credentials import Key, StaticCredentials
    from aiodynamo.expressions import HashKey
    from aiodynamo.http.aiohttp import AIOHTTP
    from yarl import URL

    loop = asyncio.new_event_loop()

    async def make() -> tuple[Any, Any]:
        session = aiohttp.ClientSession()
        return session, Client(AIOHTTP(session), StaticCredentials(Key("testing", "testing")), "us-east-1",
                               endpoint=URL(url))

    session, client = loop.run_until_complete(make())

    async def read() -> int:
        return len([item async for item in client.query(TABLE, HashKey("pk", "p"))])

    def close() -> None:
        loop.run_until_complete(session.close())
        loop.close()

    return (lambda: loop.run_until_complete(read())), close


def boto3_resource_reader(url: str) -> tuple[Callable[[], int], Callable[[], None]]:
    """boto3's resource Table.query, following LastEvaluatedKey: plain Python out, as boto3 users read."""
    import boto3
    from boto3.dynamodb.conditions import Key

    table = boto3.resource("dynamodb", endpoint_url=url).Table(TABLE)

    def read() -> int:
        n, start = 0, None
        while True:
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq("p")}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = table.query(**kwargs)
            n += len(page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return n

    return read, table.meta.client.close


CLIENTS: dict[str, Callable[[str], tuple[Callable[[], int], Callable[[], None]]]] = {
    "ddbkit fast sync": lambda url: ddbkit_reader(url, "fast"),
    "ddbkit fast async": ddbkit_async_reader,
    "boto3 resource": boto3_resource_reader,
    "aiodynamo": aiodynamo_reader,
}
QUERY_GOALS = {"aiodynamo": 0.5, "boto3 resource": 0.1}


def cpu_per_item(read: Callable[[], int]) -> Callable[[], float]:
    """One measurement: whole paginations for about BUDGET seconds, CPU µs per item read."""
    def one() -> float:
        gc.collect()
        n = 0
        c0, t0 = time.process_time(), time.perf_counter()
        while True:
            n += read()
            if time.perf_counter() - t0 >= BUDGET:
                return (time.process_time() - c0) / n * 1e6
    return one


def single_clients(url: str, kind: str) -> tuple[dict[str, dict[str, Callable[[], Any]]], list[Callable[[], None]]]:
    """GetItem / PutItem / UpdateItem, one call each, plain Python in and out, per client."""
    import aiohttp
    import boto3
    from aiodynamo.client import Client
    from aiodynamo.credentials import Key, StaticCredentials
    from aiodynamo.expressions import F
    from aiodynamo.http.aiohttp import AIOHTTP
    from yarl import URL

    from bench.items import ITEMS
    from ddbkit import Table
    from ddbkit.aio import AsyncTable

    key = {"pk": "p", "sk": "x"}
    item = {**key, **ITEMS[kind]}
    first, second = list(ITEMS[kind])[2], list(ITEMS[kind])[4]  # two non-key attributes the update sets
    sets = {first: ITEMS[kind][first], second: ITEMS[kind][second]}
    loop = asyncio.new_event_loop()
    out: dict[str, dict[str, Callable[[], Any]]] = {}

    t = Table(TABLE, key=("pk", "sk"), transport="fast", endpoint_url=url)
    out["ddbkit fast sync"] = {"GetItem": lambda: t.get(key), "PutItem": lambda: t.put(item),
                               "UpdateItem": lambda: t.update(key, set=sets)}
    at = AsyncTable(TABLE, key=("pk", "sk"), transport="fast", endpoint_url=url)
    run = loop.run_until_complete
    out["ddbkit fast async"] = {"GetItem": lambda: run(at.get(key)), "PutItem": lambda: run(at.put(item)),
                                "UpdateItem": lambda: run(at.update(key, set=sets))}
    bt = boto3.resource("dynamodb", endpoint_url=url).Table(TABLE)
    names = {"#a": first, "#b": second}
    values = {":a": sets[first], ":b": sets[second]}
    out["boto3 resource"] = {
        "GetItem": lambda: bt.get_item(Key=key)["Item"], "PutItem": lambda: bt.put_item(Item=item),
        "UpdateItem": lambda: bt.update_item(Key=key, UpdateExpression="SET #a = :a, #b = :b",
                                             ExpressionAttributeNames=names, ExpressionAttributeValues=values)}

    async def make() -> tuple[Any, Any]:
        session = aiohttp.ClientSession()
        return session, Client(AIOHTTP(session), StaticCredentials(Key("testing", "testing")), "us-east-1",
                               endpoint=URL(url))

    session, adc = run(make())
    update = F(first).set(sets[first]) & F(second).set(sets[second])
    out["aiodynamo"] = {"GetItem": lambda: run(adc.get_item(TABLE, key)),
                        "PutItem": lambda: run(adc.put_item(TABLE, item)),
                        "UpdateItem": lambda: run(adc.update_item(TABLE, key, update))}

    def close_async() -> None:
        run(at.close())
        run(session.close())
        loop.close()

    return out, [t.close, bt.meta.client.close, close_async]


def cpu_per_call(call: Callable[[], Any]) -> Callable[[], float]:
    def one() -> float:
        gc.collect()
        n = 0
        c0, t0 = time.process_time(), time.perf_counter()
        while True:
            for _ in range(20):
                call()
            n += 20
            if time.perf_counter() - t0 >= BUDGET:
                return (time.process_time() - c0) / n * 1e6
    return one


COLD = {
    "ddbkit fast": ("import ddbkit; t = ddbkit.Table('Bench', key=('pk', 'sk'), transport='fast', endpoint_url=URL); "
                    "t.get({'pk': 'p', 'sk': 'x'})"),
    "boto3": ("import boto3; c = boto3.client('dynamodb', endpoint_url=URL); "
              "c.get_item(TableName='Bench', Key={'pk': {'S': 'p'}, 'sk': {'S': 'x'}})"),
}
COLD_RUNS = 2 if QUICK else 7


def cold_ms(code: str, url: str, runs: int = 5) -> float:
    """Median ms of ``code`` in fresh interpreters (from bytecode; the interpreter's own start-up excluded)."""
    wrapper = (f"import time; t0 = time.perf_counter(); URL = {url!r}; {code}; "
               "print((time.perf_counter() - t0) * 1000)")
    times = [float(subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True,
                                  env=os.environ.copy()).stdout.strip().splitlines()[-1]) for _ in range(runs)]
    return statistics.median(times)


def main() -> list[str]:
    from bench.items import ITEMS

    fake_aws_env()
    lines = []
    with StubProcess(table=TABLE, page_size=0, pages=PAGES) as stub:
        for kind in ITEMS:
            stub.configure(item=kind)
            made = {name: factory(stub.endpoint_url) for name, factory in CLIENTS.items()}
            try:
                for read, _ in made.values():
                    read()  # warm up: connections, imports, caches
                s0 = stub.stats()["cpu_s"]
                cpu = interleaved({name: cpu_per_item(read) for name, (read, _) in made.items()})
                stub_cpu = stub.stats()["cpu_s"] - s0
            finally:
                for _, close in made.values():
                    close()
            for variant in ("ddbkit fast sync", "ddbkit fast async"):
                for peer, goal in QUERY_GOALS.items():
                    lines.append(ratio_line("query", "Query per item read", kind, variant, peer, cpu[variant],
                                            cpu[peer], "µs/item", goal))
            lines.append(f"stub server (query, {kind} item): {stub_cpu:.2f} s CPU while the clients read "
                         f"(canned 1 MB pages, not the bottleneck)")
            calls, closers = single_clients(stub.endpoint_url, kind)
            try:
                for ops in calls.values():
                    for call in ops.values():
                        for _ in range(20):
                            call()
                for op in ("GetItem", "PutItem", "UpdateItem"):
                    cpu = interleaved({name: cpu_per_call(ops[op]) for name, ops in calls.items()})
                    for variant in ("ddbkit fast sync", "ddbkit fast async"):
                        lines.append(ratio_line("single", op, kind, variant, "boto3 resource", cpu[variant],
                                                cpu["boto3 resource"], "µs/call", 0.1))
                    lines.append(ratio_line("single", f"async {op}", kind, "ddbkit fast async", "aiodynamo",
                                            cpu["ddbkit fast async"], cpu["aiodynamo"], "µs/call", 0.5))
            finally:
                for close in closers:
                    close()
        stub.configure(item="")
        # deployed code runs from bytecode (pip and Lambda packaging compile it); this machine sets
        # PYTHONDONTWRITEBYTECODE, so compile ddbkit first or the cold runs would time the compiler
        import compileall
        from pathlib import Path

        import ddbkit

        compileall.compile_dir(str(Path(ddbkit.__file__).parent), quiet=1)
        cold = {name: cold_ms(code, stub.endpoint_url, runs=COLD_RUNS) for name, code in COLD.items()}
    lines.append(ratio_line("cold", "import + client + first GetItem (median of fresh interpreters)", "small",
                            "ddbkit fast sync", "boto3", cold["ddbkit fast"], cold["boto3"], "ms", 0.6))
    for text in lines:
        print(text)
    return lines


if __name__ == "__main__":
    main()
