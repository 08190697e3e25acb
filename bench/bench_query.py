"""Query pagination: items/s and client CPU µs/item read, plus the cold first read of a fresh process.

Run: ``.venv/bin/python -m bench.bench_query``. bench/stub_server.py (own process, no latency) answers a
query with :data:`PAGES` pages of :data:`PAGE_SIZE` items (each of the two bench/items.py items in turn)
linked by LastEvaluatedKey; each client reads every page and turns every item into plain Python:

* ddbkit ``Table(transport="fast").query_iter`` (and AsyncTable, and the botocore transport),
* boto3's query paginator + ``TypeDeserializer``, aioboto3's the same, aiodynamo's ``Client.query``.

Then GetItem CPU per call (sequential, plain Python out) for ddbkit sync/async vs boto3's client +
TypeDeserializer, aioboto3 and aiodynamo. CPU is this process's CPU time. Targets (issue 15): query CPU per
item read >= 2x less than aiodynamo and >= 10x less than boto3; GetItem >= 10x less than boto3's client.
The cold line times ``import`` + client + one GetItem in fresh interpreters (median of 5): the fast
transport resolves credentials on its first request, so the import-time figure alone would flatter it.
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

from bench.stub_server import StubProcess, fake_aws_env

TABLE = "Bench"
PAGE_SIZE = 100
PAGES = 20
BUDGET = float(os.environ.get("DDBKIT_BENCH_BUDGET", "1.2"))


def measure(read_all: Callable[[], int]) -> tuple[float, float]:
    """(items/s, client CPU µs/item) over whole paginations repeated for about BUDGET seconds."""
    read_all()  # warm up: connections, imports, caches
    gc.collect()
    n = 0
    c0, t0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - t0 < BUDGET:
        n += read_all()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / wall, cpu / n * 1e6


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


def boto3_reader(url: str) -> tuple[Callable[[], int], Callable[[], None]]:
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    client = boto3.client("dynamodb", endpoint_url=url)
    de = TypeDeserializer()
    paginator = client.get_paginator("query")

    def read() -> int:
        n = 0
        for page in paginator.paginate(TableName=TABLE, KeyConditionExpression="pk = :p",
                                       ExpressionAttributeValues={":p": {"S": "p"}}):
            for item in page["Items"]:
                {k: de.deserialize(v) for k, v in item.items()}
                n += 1
        return n

    return read, client.close


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


def aioboto3_reader(url: str) -> tuple[Callable[[], int], Callable[[], None]]:
    import aioboto3
    from boto3.dynamodb.types import TypeDeserializer

    loop = asyncio.new_event_loop()
    de = TypeDeserializer()
    cm = aioboto3.Session().client("dynamodb", endpoint_url=url)
    client = loop.run_until_complete(cm.__aenter__())

    async def read() -> int:
        n = 0
        paginator = client.get_paginator("query")
        async for page in paginator.paginate(TableName=TABLE, KeyConditionExpression="pk = :p",
                                             ExpressionAttributeValues={":p": {"S": "p"}}):
            for item in page["Items"]:
                {k: de.deserialize(v) for k, v in item.items()}
                n += 1
        return n

    def close() -> None:
        loop.run_until_complete(cm.__aexit__(None, None, None))
        loop.close()

    return (lambda: loop.run_until_complete(read())), close


CLIENTS: dict[str, Callable[[str], tuple[Callable[[], int], Callable[[], None]]]] = {
    "ddbkit fast": lambda url: ddbkit_reader(url, "fast"),
    "ddbkit fast async": ddbkit_async_reader,
    "ddbkit botocore": lambda url: ddbkit_reader(url, "botocore"),
    "boto3 paginator + TypeDeserializer": boto3_reader,
    "aioboto3 paginator + TypeDeserializer": aioboto3_reader,
    "aiodynamo": aiodynamo_reader,
}

GETS = 400  # GetItem calls per measurement (sequential: CPU per call is the figure)


def get_clients(url: str) -> dict[str, tuple[Callable[[], None], Callable[[], None]]]:
    """One GetItem (returning plain Python) per call, for each client."""
    import aioboto3
    import aiohttp
    import boto3
    from aiodynamo.client import Client
    from aiodynamo.credentials import Key, StaticCredentials
    from aiodynamo.http.aiohttp import AIOHTTP
    from boto3.dynamodb.types import TypeDeserializer
    from yarl import URL

    from ddbkit import Table
    from ddbkit.aio import AsyncTable

    out: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {}
    key = {"pk": "p", "sk": "x"}
    t = Table(TABLE, key=("pk", "sk"), transport="fast", endpoint_url=url)
    out["ddbkit fast"] = (lambda: t.get(key) and None), t.close
    loop = asyncio.new_event_loop()
    at = AsyncTable(TABLE, key=("pk", "sk"), transport="fast", endpoint_url=url)
    out["ddbkit fast async"] = (lambda: loop.run_until_complete(at.get(key)) and None), \
        lambda: loop.run_until_complete(at.close())
    client = boto3.client("dynamodb", endpoint_url=url)
    de = TypeDeserializer()
    wire_key = {"pk": {"S": "p"}, "sk": {"S": "x"}}

    def boto3_get() -> None:
        item = client.get_item(TableName=TABLE, Key=wire_key)["Item"]
        {k: de.deserialize(v) for k, v in item.items()}

    out["boto3 client + TypeDeserializer"] = boto3_get, client.close
    cm = aioboto3.Session().client("dynamodb", endpoint_url=url)
    aclient = loop.run_until_complete(cm.__aenter__())

    async def aioboto3_get() -> None:
        item = (await aclient.get_item(TableName=TABLE, Key=wire_key))["Item"]
        {k: de.deserialize(v) for k, v in item.items()}

    out["aioboto3 + TypeDeserializer"] = (lambda: loop.run_until_complete(aioboto3_get())), \
        lambda: loop.run_until_complete(cm.__aexit__(None, None, None))

    async def make() -> tuple[Any, Any]:
        session = aiohttp.ClientSession()
        return session, Client(AIOHTTP(session), StaticCredentials(Key("testing", "testing")), "us-east-1",
                               endpoint=URL(url))

    session, adc = loop.run_until_complete(make())
    out["aiodynamo"] = (lambda: loop.run_until_complete(adc.get_item(TABLE, key)) and None), \
        lambda: loop.run_until_complete(session.close())
    return out


def get_cpu_us(get: Callable[[], None]) -> float:
    for _ in range(50):
        get()
    gc.collect()
    best = float("inf")
    for _ in range(3):
        c0 = time.process_time()
        for _ in range(GETS):
            get()
        best = min(best, (time.process_time() - c0) / GETS * 1e6)
    return best

COLD = {
    "ddbkit fast": ("import ddbkit; t = ddbkit.Table('Bench', key=('pk', 'sk'), transport='fast', endpoint_url=URL); "
                    "t.get({'pk': 'p', 'sk': 'x'})"),
    "boto3": ("import boto3; c = boto3.client('dynamodb', endpoint_url=URL); "
              "c.get_item(TableName='Bench', Key={'pk': {'S': 'p'}, 'sk': {'S': 'x'}})"),
}


def cold_ms(code: str, url: str, runs: int = 5) -> float:
    wrapper = (f"import time; t0 = time.perf_counter(); URL = {url!r}; {code}; "
               "print((time.perf_counter() - t0) * 1000)")
    times = [float(subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True,
                                  env=os.environ.copy()).stdout.strip().splitlines()[-1]) for _ in range(runs)]
    return statistics.median(times)


def main() -> list[str]:
    from bench.items import ITEMS

    fake_aws_env()
    lines = []
    anchors = ["boto3 paginator + TypeDeserializer", "aioboto3 paginator + TypeDeserializer", "aiodynamo"]
    with StubProcess(table=TABLE, page_size=PAGE_SIZE, pages=PAGES) as stub:
        stub_cpu, runs = 0.0, 0
        for kind in ITEMS:
            stub.configure(item=kind)
            results: dict[str, tuple[float, float]] = {}
            for name, factory in CLIENTS.items():
                read, close = factory(stub.endpoint_url)
                try:
                    s0 = stub.stats()["cpu_s"]
                    results[name] = measure(read)
                    stub_cpu += stub.stats()["cpu_s"] - s0
                    runs += 1
                finally:
                    close()
            for variant in ("ddbkit fast", "ddbkit fast async", "ddbkit botocore"):
                rate, cpu = results[variant]
                for anchor in anchors:
                    a_rate, a_cpu = results[anchor]
                    lines.append(f"query pagination items/s, {PAGE_SIZE}-item pages, {kind} item [{variant} vs "
                                 f"{anchor}]: ddbkit {rate:,.0f} items/s | {anchor} {a_rate:,.0f} items/s | ratio "
                                 f"{rate / a_rate:.2f}x")
                    lines.append(f"query client CPU per item read, {kind} item [{variant} vs {anchor}]: ddbkit "
                                 f"{cpu:.1f} µs/item | {anchor} {a_cpu:.1f} µs/item | ratio {a_cpu / cpu:.1f}x")
            gets = get_clients(stub.endpoint_url)
            cpu_get = {}
            for name, (get, close) in gets.items():
                try:
                    cpu_get[name] = get_cpu_us(get)
                finally:
                    close()
            for variant in ("ddbkit fast", "ddbkit fast async"):
                for anchor in ("boto3 client + TypeDeserializer", "aioboto3 + TypeDeserializer", "aiodynamo"):
                    lines.append(f"GetItem client CPU per call, {kind} item [{variant} vs {anchor}]: ddbkit "
                                 f"{cpu_get[variant]:.0f} µs/call | {anchor} {cpu_get[anchor]:.0f} µs/call | ratio "
                                 f"{cpu_get[anchor] / cpu_get[variant]:.1f}x")
        stub.configure(item="")
        cold = {name: cold_ms(code, stub.endpoint_url) for name, code in COLD.items()}
    total_wall = runs * BUDGET
    lines.append(f"stub server (query): CPU {stub_cpu:.2f} s over about {total_wall:.0f} s of runs "
                 f"({stub_cpu / total_wall:.0%} of one core; canned pages, not the bottleneck)")
    ours, base = cold["ddbkit fast"], cold["boto3"]
    lines.append(f"cold import + client + first GetItem: ddbkit {ours:.0f} ms | boto3 {base:.0f} ms | "
                 f"ratio {base / ours:.2f}x | delta {ours - base:+.0f} ms")
    for text in lines:
        print(text)
    return lines


if __name__ == "__main__":
    main()
