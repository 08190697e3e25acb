"""Batch write: items/s and client CPU µs/item, 16 requests in flight, at 0 ms and 10 ms injected latency.

Run: ``.venv/bin/python -m bench.bench_batch_write``. Every client writes the same small items (the
bench/items.py items, session and mixed8, with a unique sort key) to bench/stub_server.py running in its own process, in rounds of
:data:`ROUND` items per call, for about :data:`BUDGET` seconds each:

* ddbkit fast sync (``Table(transport="fast").batch_write(concurrency=16)``: threads),
* ddbkit fast async (``AsyncTable(transport="fast")``, 16 tasks), ddbkit on its botocore transport,
* anchors: boto3 ``Table.batch_writer`` (sequential, as boto3 users write), boto3 client with 16 threads,
  aioboto3 with 16 tasks, aiodynamo (aiohttp) with 16 tasks - each with its own serializer.

Client CPU is this process's CPU time (user + system, all threads) per item; the stub's CPU is printed
too, to show it is not the bottleneck. Ratios: ddbkit / anchor for items/s, anchor / ddbkit for CPU (so
higher is better for ddbkit either way). Both bench items (bench/items.py) on every line. Targets (issue
15): CPU per item written >= 2x less than aiodynamo and >= 15x less than boto3's batch_writer on both items;
>= 32,000 items/s at 10 ms with 16 in flight, sync and async (the limit is 16 x 25 / 10 ms = 40,000).
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.items import ITEMS
from bench.stub_server import StubProcess, fake_aws_env

TABLE = "Bench"
IN_FLIGHT = 16
ROUND = 2000  # items per batch_write call
BUDGET = float(os.environ.get("DDBKIT_BENCH_BUDGET", "1.2"))  # seconds per client, item and latency
LATENCIES = (0.0, 0.010)

KIND = {"name": "session"}  # the bench item being written (bench/items.py), set by main()


def make_items(n: int, prefix: str = "") -> list[dict[str, Any]]:
    base = ITEMS[KIND["name"]]
    return [{"pk": "p", "sk": f"{prefix}{i:08d}", **base} for i in range(n)]


def chunks(items: list[dict[str, Any]], size: int = 25) -> list[list[dict[str, Any]]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class Result:
    def __init__(self, items: int, wall: float, cpu: float, stub_cpu: float) -> None:
        self.items, self.wall, self.cpu, self.stub_cpu = items, wall, cpu, stub_cpu

    @property
    def rate(self) -> float:
        return self.items / self.wall

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.items * 1e6


def measure(stub: StubProcess, write_round: Callable[[list[dict[str, Any]]], None]) -> Result:
    """Warm up with one round, then write rounds until the budget is spent."""
    items = make_items(ROUND)
    write_round(items[:IN_FLIGHT * 25])
    gc.collect()
    s0 = stub.stats()["cpu_s"]
    c0, t0 = time.process_time(), time.perf_counter()
    n = 0
    while True:
        write_round(items)
        n += len(items)
        if time.perf_counter() - t0 >= BUDGET:
            break
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return Result(n, wall, cpu, stub.stats()["cpu_s"] - s0)


# --------------------------------------------------------------------------------------------------
# clients: each returns a "write one round" function (and cleans up via the returned closer)
# --------------------------------------------------------------------------------------------------

def ddbkit_sync(url: str, transport: str) -> tuple[Callable[..., None], Callable[[], None]]:
    from ddbkit import Table

    table = Table(TABLE, key=("pk", "sk"), transport=transport, endpoint_url=url, concurrency=IN_FLIGHT)
    return (lambda items: table.batch_write(items) and None), table.transport.close


def ddbkit_async(url: str) -> tuple[Callable[..., None], Callable[[], None]]:
    from ddbkit.aio import AsyncTable

    loop = asyncio.new_event_loop()
    table = AsyncTable(TABLE, key=("pk", "sk"), transport="fast", endpoint_url=url, concurrency=IN_FLIGHT)

    def write(items: list[dict[str, Any]]) -> None:
        loop.run_until_complete(table.batch_write(items))

    def close() -> None:
        loop.run_until_complete(table.close())
        loop.close()

    return write, close


def boto3_batch_writer(url: str) -> tuple[Callable[..., None], Callable[[], None]]:
    import boto3

    table = boto3.resource("dynamodb", endpoint_url=url).Table(TABLE)

    def write(items: list[dict[str, Any]]) -> None:
        with table.batch_writer() as writer:
            for item in items:
                writer.put_item(Item=item)

    return write, lambda: None


def boto3_threads(url: str) -> tuple[Callable[..., None], Callable[[], None]]:
    import boto3
    from boto3.dynamodb.types import TypeSerializer
    from botocore.config import Config

    client = boto3.client("dynamodb", endpoint_url=url, config=Config(max_pool_connections=IN_FLIGHT * 2))
    ser = TypeSerializer()
    pool = ThreadPoolExecutor(IN_FLIGHT)

    def one(chunk: list[dict[str, Any]]) -> None:
        request = [{"PutRequest": {"Item": {k: ser.serialize(v) for k, v in item.items()}}} for item in chunk]
        while request:
            request = client.batch_write_item(RequestItems={TABLE: request})["UnprocessedItems"].get(TABLE, [])

    def write(items: list[dict[str, Any]]) -> None:
        list(pool.map(one, chunks(items)))

    return write, lambda: pool.shutdown()


def aioboto3_tasks(url: str) -> tuple[Callable[..., None], Callable[[], None]]:
    import aioboto3
    from aiobotocore.config import AioConfig
    from boto3.dynamodb.types import TypeSerializer

    loop = asyncio.new_event_loop()
    ser = TypeSerializer()
    cm = aioboto3.Session().client("dynamodb", endpoint_url=url, config=AioConfig(max_pool_connections=IN_FLIGHT * 2))
    client = loop.run_until_complete(cm.__aenter__())

    async def run(items: list[dict[str, Any]]) -> None:
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one(chunk: list[dict[str, Any]]) -> None:
            async with gate:
                request = [{"PutRequest": {"Item": {k: ser.serialize(v) for k, v in it.items()}}} for it in chunk]
                while request:
                    resp = await client.batch_write_item(RequestItems={TABLE: request})
                    request = resp["UnprocessedItems"].get(TABLE, [])

        await asyncio.gather(*(one(c) for c in chunks(items)))

    def close() -> None:
        loop.run_until_complete(cm.__aexit__(None, None, None))
        loop.close()

    return (lambda items: loop.run_until_complete(run(items))), close


def aiodynamo_tasks(url: str) -> tuple[Callable[..., None], Callable[[], None]]:
    import aiohttp
    from aiodynamo.client import Client
    from aiodynamo.credentials import Key, StaticCredentials
    from aiodynamo.http.aiohttp import AIOHTTP
    from aiodynamo.models import BatchWriteRequest
    from yarl import URL

    loop = asyncio.new_event_loop()

    async def make() -> tuple[Any, Any]:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT * 2))
        return session, Client(AIOHTTP(session), StaticCredentials(Key("testing", "testing")), "us-east-1",
                               endpoint=URL(url))

    session, client = loop.run_until_complete(make())

    async def run(items: list[dict[str, Any]]) -> None:
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one(chunk: list[dict[str, Any]]) -> None:
            async with gate:
                pending: list[dict[str, Any]] = chunk
                while pending:  # aiodynamo returns unprocessed items without retrying
                    result = await client.batch_write({TABLE: BatchWriteRequest(items_to_put=pending)})
                    pending = result[TABLE].unput_items if TABLE in result else []

        await asyncio.gather(*(one(c) for c in chunks(items)))

    def close() -> None:
        loop.run_until_complete(session.close())
        loop.close()

    return (lambda items: loop.run_until_complete(run(items))), close


CLIENTS: dict[str, Callable[[str], tuple[Callable[..., None], Callable[[], None]]]] = {
    "ddbkit fast sync": lambda url: ddbkit_sync(url, "fast"),
    "ddbkit fast async": ddbkit_async,
    "ddbkit botocore": lambda url: ddbkit_sync(url, "botocore"),
    "boto3 batch_writer": boto3_batch_writer,
    "boto3 16 threads": boto3_threads,
    "aioboto3 16 tasks": aioboto3_tasks,
    "aiodynamo 16 tasks": aiodynamo_tasks,
}
ANCHORS = ["boto3 batch_writer", "boto3 16 threads", "aioboto3 16 tasks", "aiodynamo 16 tasks"]


def transport_alone(url: str, requests: int = 1200) -> Result:
    """The async fast transport sending pre-marshalled 25-item BatchWriteItem requests, 16 in flight: what
    the wire path can move when ddbkit's per-item work (marshal, validation, chunking) is taken out."""
    from ddbkit.core.codec import marshal_item
    from ddbkit.transport.fast import AsyncFastTransport

    request = {"RequestItems": {TABLE: [{"PutRequest": {"Item": marshal_item(i)}} for i in make_items(25)]}}

    async def run() -> tuple[float, float]:
        transport = AsyncFastTransport(endpoint_url=url, region_name="us-east-1")
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one() -> None:
            async with gate:
                await transport.send("BatchWriteItem", request)

        await asyncio.gather(*(one() for _ in range(IN_FLIGHT * 4)))
        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        await transport.close()
        return wall, cpu

    wall, cpu = asyncio.run(run())
    return Result(requests * 25, wall, cpu, 0.0)


def http_client_lines(url: str) -> list[str]:
    """aiohttp vs httpx for the async fast transport: CPU per signed 25-item request, 16 in flight."""
    try:
        import httpx
    except ImportError:
        return ["async fast transport HTTP client: httpx not installed (aiohttp kept; pip install httpx to compare)"]
    import aiohttp

    from ddbkit.core.codec import marshal_item
    from ddbkit.transport.wire import WireProtocol

    wire = WireProtocol(url, "us-east-1")
    request = {"RequestItems": {TABLE: [{"PutRequest": {"Item": marshal_item(i)}} for i in make_items(25)]}}

    class Creds:
        access_key, secret_key, token = "testing", "testing", None

    async def run(post: Callable[..., Any], n: int = 1500) -> float:
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one() -> None:
            async with gate:
                body, headers = wire.prepare("BatchWriteItem", request, Creds)
                await post(body, headers)

        await asyncio.gather(*(one() for _ in range(100)))
        c0 = time.process_time()
        await asyncio.gather(*(one() for _ in range(n)))
        return (time.process_time() - c0) / n * 1e6

    async def main() -> tuple[float, float]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT * 2)) as s:
            async def post_aiohttp(body: bytes, headers: dict[str, str]) -> None:
                async with s.post(wire.url, data=body, headers=headers) as r:
                    await r.read()
            a = await run(post_aiohttp)
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=IN_FLIGHT * 2)) as hc:
            async def post_httpx(body: bytes, headers: dict[str, str]) -> None:
                r = await hc.post(wire.url, content=body, headers=headers)
                r.read()
            h = await run(post_httpx, 500)
        return a, h

    a, h = asyncio.run(main())
    return [f"async fast transport HTTP client, CPU per 25-item request, 16 in flight: ddbkit (aiohttp) "
            f"{a:.0f} µs/request | httpx {h:.0f} µs/request | ratio {h / a:.1f}x"]


def main() -> list[str]:
    fake_aws_env()
    lines: list[str] = []
    for latency in LATENCIES:
        ms = f"{latency * 1000:.0f}ms"
        with StubProcess(latency=latency, table=TABLE) as stub:
            for kind in ITEMS:
                KIND["name"] = kind
                results: dict[str, Result] = {}
                for name, factory in CLIENTS.items():
                    write, close = factory(stub.endpoint_url)
                    try:
                        results[name] = measure(stub, write)
                    finally:
                        close()
                lines += item_lines(kind, ms, results)
                if kind == "session":
                    alone = transport_alone(stub.endpoint_url)
                    limit = IN_FLIGHT * 25 / latency if latency else None
                    whole = results["ddbkit fast async"]
                    lines.append(f"batch write items/s @{ms}, {IN_FLIGHT} in flight [fast async transport alone, "
                                 f"pre-marshalled requests]: ddbkit {alone.rate:,.0f} items/s | "
                                 + (f"limit 16 x 25 / 10 ms {limit:,.0f} items/s | ratio {alone.rate / limit:.2f}x"
                                    if limit else f"ddbkit fast async (whole path) {whole.rate:,.0f} items/s | "
                                    f"ratio {alone.rate / whole.rate:.2f}x"))
                    lines.append(f"batch write client CPU @{ms} [fast async transport alone vs whole ddbkit path]: "
                                 f"ddbkit {alone.cpu_us:.1f} µs/item | ddbkit fast async (whole path) "
                                 f"{whole.cpu_us:.1f} µs/item | ratio {whole.cpu_us / alone.cpu_us:.1f}x")
                    worst = max(results.values(), key=lambda r: r.stub_cpu / r.wall)
                    lines.append(f"stub server @{ms}: busiest run {worst.stub_cpu / worst.wall:.0%} of one core "
                                 f"(not the bottleneck)")
    for text in lines:
        print(text)
    return lines


def item_lines(kind: str, ms: str, results: dict[str, Result]) -> list[str]:
    """Every ddbkit variant against every anchor, items/s and CPU, for one item and latency."""
    lines = []
    for variant in ("ddbkit fast sync", "ddbkit fast async"):
        ours = results[variant]
        for anchor in ANCHORS:
            a = results[anchor]
            lines.append(f"batch write items/s @{ms}, {IN_FLIGHT} in flight, {kind} item [{variant} vs {anchor}]: "
                         f"ddbkit {ours.rate:,.0f} items/s | {anchor} {a.rate:,.0f} items/s | ratio "
                         f"{ours.rate / a.rate:.2f}x")
        for anchor in ANCHORS:
            a = results[anchor]
            lines.append(f"batch write client CPU @{ms}, {kind} item [{variant} vs {anchor}]: ddbkit "
                         f"{ours.cpu_us:.1f} µs/item | {anchor} {a.cpu_us:.1f} µs/item | ratio "
                         f"{a.cpu_us / ours.cpu_us:.1f}x")
    ours, a = results["ddbkit botocore"], results["boto3 16 threads"]
    lines.append(f"batch write client CPU @{ms}, {kind} item [ddbkit botocore transport vs boto3 16 threads]: ddbkit "
                 f"{ours.cpu_us:.1f} µs/item | boto3 16 threads {a.cpu_us:.1f} µs/item | ratio "
                 f"{a.cpu_us / ours.cpu_us:.1f}x")
    return lines


if __name__ == "__main__":
    main()
