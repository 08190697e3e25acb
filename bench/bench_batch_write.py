"""Bulk write: client CPU per item written at 0 ms, and items/s at 10 ms RTT, 16 requests in flight (issue 26).

Run: ``.venv/bin/python -m bench.bench_batch_write``. Every client writes the bench/items.py items (small and
nested, with a unique sort key) to bench/stub_server.py running in its own process, :data:`ROUND` items per
call (a generator for ddbkit), for about ``BUDGET`` seconds per contender and round:

* ddbkit fast sync (``Table(transport="fast").batch_write(iter(items))``, 16 in flight),
* ddbkit fast async (``AsyncTable(transport="fast")``, 16 in flight),
* peers: boto3 ``Table.batch_writer`` (sequential, as boto3 users write) and aiodynamo (aiohttp) with 16
  tasks, each with its own serializer.

Client CPU is this process's CPU time (user + system, all threads) per item; contenders are interleaved
over rounds (bench/goals.py) and the median kept; the stub's CPU is printed to show it is not the
bottleneck. Goals: CPU <= 0.5x aiodynamo and <= 0.1x boto3's batch_writer; at 10 ms RTT and 16 in flight
>= 90% (small) and >= 50% (nested) of the 16 x 25 / 10 ms = 40,000 items/s limit. The other factories
(boto3 16 threads, aioboto3, ddbkit botocore, the transport alone) stay for ad-hoc comparisons.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.goals import BUDGET, QUICK, ROUNDS, ratio_line, share_line
from bench.items import ITEMS
from bench.stub_server import StubProcess, fake_aws_env

TABLE = "Bench"
IN_FLIGHT = 16
ROUND = 400 if QUICK else 2000  # items per batch_write call
LATENCIES = (0.0, 0.010)

KIND = {"name": "small"}  # the bench item being written (bench/items.py), set by main()


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
    return (lambda items: table.batch_write(iter(items)) and None), table.transport.close


def ddbkit_async(url: str) -> tuple[Callable[..., None], Callable[[], None]]:
    from ddbkit.aio import AsyncTable

    loop = asyncio.new_event_loop()
    table = AsyncTable(TABLE, key=("pk", "sk"), transport="fast", endpoint_url=url, concurrency=IN_FLIGHT)

    def write(items: list[dict[str, Any]]) -> None:
        loop.run_until_complete(table.batch_write(iter(items)))

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
    """ddbkit's own asyncio HTTP/1.1 client (ddbkit.transport.h1, what the async fast transport uses) vs aiohttp
    (what it used before, and still uses behind a proxy) vs httpx: CPU per signed 25-item request, 16 in flight."""
    try:
        import httpx
    except ImportError:
        httpx = None
    import aiohttp

    from ddbkit.core.codec import marshal_item
    from ddbkit.transport.h1 import ConnectionPool
    from ddbkit.transport.wire import WireProtocol, request_head

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

    async def main() -> tuple[float, float, float | None]:
        pool = ConnectionPool(wire.host, wire.port, ssl_context=None, limit=IN_FLIGHT * 2, connect_timeout=5.0,
                              read_timeout=30.0)

        async def post_h1(body: bytes, headers: dict[str, str]) -> None:
            await pool.request(request_head(wire.path, body, headers) + body)
        own = await run(post_h1)
        pool.close()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT * 2)) as s:
            async def post_aiohttp(body: bytes, headers: dict[str, str]) -> None:
                async with s.post(wire.url, data=body, headers=headers) as r:
                    await r.read()
            a = await run(post_aiohttp)
        if httpx is None:
            return own, a, None
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=IN_FLIGHT * 2)) as hc:
            async def post_httpx(body: bytes, headers: dict[str, str]) -> None:
                r = await hc.post(wire.url, content=body, headers=headers)
                r.read()
            h = await run(post_httpx, 500)
        return own, a, h

    own, a, h = asyncio.run(main())
    other = f" | httpx {h:.0f} µs/request" if h is not None else " | httpx not installed"
    return [f"async fast transport HTTP client, CPU per 25-item request, 16 in flight: ddbkit h1 {own:.0f} "
            f"µs/request | aiohttp {a:.0f} µs/request{other} | aiohttp / h1 {a / own:.2f}x"]


WRITERS = ["ddbkit fast sync", "ddbkit fast async", "boto3 batch_writer", "aiodynamo 16 tasks"]
WRITE_GOALS = {"aiodynamo 16 tasks": 0.5, "boto3 batch_writer": 0.1}
RATE_GOALS = {"small": 0.9, "nested": 0.5}  # share of the 16 x 25 items / 10 ms limit


def main() -> list[str]:
    fake_aws_env()
    lines: list[str] = []
    for latency in LATENCIES:
        with StubProcess(latency=latency, table=TABLE) as stub:
            for kind in ITEMS:
                KIND["name"] = kind
                names = WRITERS if not latency else ["ddbkit fast sync", "ddbkit fast async"]
                made = {name: CLIENTS[name](stub.endpoint_url) for name in names}
                seen: dict[str, list[Result]] = {name: [] for name in names}
                try:
                    for _ in range(ROUNDS):
                        for name, (write, _close) in made.items():
                            seen[name].append(measure(stub, write))
                finally:
                    for _write, close in made.values():
                        close()
                cpu = {name: statistics.median(r.cpu_us for r in rs) for name, rs in seen.items()}
                rate = {name: statistics.median(r.rate for r in rs) for name, rs in seen.items()}
                for variant in ("ddbkit fast sync", "ddbkit fast async"):
                    if not latency:
                        for peer, goal in WRITE_GOALS.items():
                            lines.append(ratio_line("write", "bulk write per item (generator input, 16 in flight)",
                                                    kind, variant, peer, cpu[variant], cpu[peer], "µs/item", goal))
                    else:
                        limit = IN_FLIGHT * 25 / latency
                        lines.append(share_line("rate", f"items/s at {latency * 1000:.0f} ms RTT, {IN_FLIGHT} in "
                                                f"flight", kind, variant, rate[variant], limit, "items/s",
                                                RATE_GOALS[kind]))
                if kind == "small" and not QUICK:  # what the wire path alone can do (docs: the fast transport)
                    alone = transport_alone(stub.endpoint_url)
                    ms = f"{latency * 1000:.0f}ms"
                    lines.append(f"batch write items/s @{ms}, {IN_FLIGHT} in flight [fast async transport alone, "
                                 f"pre-marshalled requests]: ddbkit {alone.rate:,.0f} items/s | client CPU "
                                 f"{alone.cpu_us:.1f} µs/item")
                    if not latency:
                        lines += http_client_lines(stub.endpoint_url)
                busiest = max((r for rs in seen.values() for r in rs), key=lambda r: r.stub_cpu / r.wall)
                lines.append(f"stub server @{latency * 1000:.0f}ms, {kind} item: busiest run "
                             f"{busiest.stub_cpu / busiest.wall:.0%} of one core (not the bottleneck)")
    for text in lines:
        print(text)
    return lines


if __name__ == "__main__":
    main()
