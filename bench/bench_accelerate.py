"""``ddbkit.accelerate()``: client CPU per call of unchanged boto3 code, accelerated vs plain, in the same run.

Run: ``.venv/bin/python -m bench.bench_accelerate``. bench/stub_server.py answers in its own process (no
latency; its CPU is not counted). For each of the two bench/items.py items (``small``, ``nested``), through
boto3's client (wire-format items) and the resource ``Table`` (plain Python items), this process's CPU time per
call of GetItem, PutItem, one Query page (``PAGE_SIZE`` items) and a 25-item BatchWriteItem, for a plain boto3
client and for one built after ``ddbkit.accelerate()`` (same process, same stub, alternating). Target (issue
27): accelerated <= 0.2x plain. The cold line: a fresh interpreter's import + client + first GetItem, CPU and
wall, median of ``COLD_RUNS``, plain vs ``import ddbkit; ddbkit.accelerate()`` first.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.items import ITEMS, WIRE
from bench.stub_server import StubProcess, fake_aws_env

TABLE = "Bench"
PAGE_SIZE = 100
BUDGET = float(os.environ.get("DDBKIT_BENCH_BUDGET", "1.0"))
COLD_RUNS = 5
TARGET = 0.2


def cpu_per_call(call: Callable[[], Any]) -> float:
    """Client CPU µs per call, over about BUDGET seconds after a warm-up."""
    for _ in range(20):
        call()
    gc.collect()
    n = 0
    c0, t0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - t0 < BUDGET:
        call()
        n += 1
    return (time.process_time() - c0) / n * 1e6


def calls(client: Any, table: Any, item: str) -> dict[str, Callable[[], Any]]:
    """The measured calls for one client and its resource Table."""
    wire = {"pk": {"S": "p"}, "sk": {"S": "s"}, **WIRE[item]}
    plain = {"pk": "p", "sk": "s", **ITEMS[item]}
    wire_batch = [{"PutRequest": {"Item": {**wire, "sk": {"S": f"s{i}"}}}} for i in range(25)]
    plain_batch = [{"PutRequest": {"Item": {**plain, "sk": f"s{i}"}}} for i in range(25)]
    key_wire = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    return {
        "client GetItem": lambda: client.get_item(TableName=TABLE, Key=key_wire),
        "client PutItem": lambda: client.put_item(TableName=TABLE, Item=wire),
        "client Query page": lambda: client.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                                                  ExpressionAttributeValues={":p": {"S": "p"}}),
        "client BatchWriteItem": lambda: client.batch_write_item(RequestItems={TABLE: wire_batch}),
        "Table GetItem": lambda: table.get_item(Key={"pk": "p", "sk": "s"}),
        "Table PutItem": lambda: table.put_item(Item=plain),
        "Table Query page": lambda: table.query(KeyConditionExpression="pk = :p",
                                                ExpressionAttributeValues={":p": "p"}),
        "Table BatchWriteItem": lambda: table.meta.client.batch_write_item(RequestItems={TABLE: plain_batch}),
    }


def cold(accelerated: bool, url: str) -> tuple[float, float]:
    """(CPU ms, wall ms) of import + client + first GetItem in a fresh interpreter (median of COLD_RUNS)."""
    code = (
        "import time, resource\nt0 = time.perf_counter()\n"
        + ("import ddbkit\nddbkit.accelerate()\n" if accelerated else "")
        + "import boto3\n"
        f"c = boto3.client('dynamodb', endpoint_url={url!r})\n"
        f"c.get_item(TableName={TABLE!r}, Key={{'pk': {{'S': 'p'}}, 'sk': {{'S': 's'}}}})\n"
        "r = resource.getrusage(resource.RUSAGE_SELF)\n"
        "print((r.ru_utime + r.ru_stime) * 1e3, (time.perf_counter() - t0) * 1e3)\n"
    )
    runs = []
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for _ in range(COLD_RUNS):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root,
                             env=dict(os.environ, PYTHONPATH=root))
        cpu, wall = out.stdout.split()
        runs.append((float(cpu), float(wall)))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> dict[str, Any]:
    fake_aws_env()
    import boto3

    import ddbkit

    results: dict[str, Any] = {"items": {}, "cold": {}}
    for item in ITEMS:
        stub = StubProcess(item=item, page_size=PAGE_SIZE, pages=1000).start()
        try:
            url = stub.endpoint_url
            plain_client = boto3.Session().client("dynamodb", endpoint_url=url)
            plain_table = boto3.Session().resource("dynamodb", endpoint_url=url).Table(TABLE)
            with ddbkit.accelerate():
                fast_client = boto3.Session().client("dynamodb", endpoint_url=url)
                fast_table = boto3.Session().resource("dynamodb", endpoint_url=url).Table(TABLE)
                assert ddbkit.is_accelerated(fast_client) and ddbkit.is_accelerated(fast_table)
                plain_calls = calls(plain_client, plain_table, item)
                fast_calls = calls(fast_client, fast_table, item)
                rows = {}
                for name in plain_calls:
                    plain_us = cpu_per_call(plain_calls[name])
                    fast_us = cpu_per_call(fast_calls[name])
                    rows[name] = {"boto3_us": round(plain_us, 1), "accelerated_us": round(fast_us, 1),
                                  "ratio": round(fast_us / plain_us, 3)}
                results["items"][item] = rows
                results["stub_cpu_s"] = stub.stats().get("cpu_s")
        finally:
            stub.stop()
    stub = StubProcess(item=next(iter(ITEMS))).start()
    try:
        for label, acc in (("boto3", False), ("accelerated", True)):
            cpu, wall = cold(acc, stub.endpoint_url)
            results["cold"][label] = {"cpu_ms": round(cpu, 1), "wall_ms": round(wall, 1)}
    finally:
        stub.stop()
    return results


def report(results: dict[str, Any]) -> str:
    lines = [f"{'item / call':34} {'boto3 µs':>10} {'accel µs':>10} {'ratio':>7}  target <= {TARGET}x"]
    for item, rows in results["items"].items():
        for name, row in rows.items():
            flag = "" if row["ratio"] <= TARGET else "  (over target)"
            lines.append(f"{item + ' ' + name:34} {row['boto3_us']:>10} {row['accelerated_us']:>10} "
                         f"{row['ratio']:>7}{flag}")
    cold_rows = results["cold"]
    lines.append(f"cold import+client+GetItem (median of {COLD_RUNS}): boto3 {cold_rows['boto3']['cpu_ms']} ms CPU / "
                 f"{cold_rows['boto3']['wall_ms']} ms wall; accelerated {cold_rows['accelerated']['cpu_ms']} ms CPU / "
                 f"{cold_rows['accelerated']['wall_ms']} ms wall")
    return "\n".join(lines)


if __name__ == "__main__":
    out = main()
    print(report(out))
    if "--json" in sys.argv:
        print(json.dumps(out))
