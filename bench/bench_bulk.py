"""Bulk-job scaling: a backfill on Dask's local cluster with 1, 2, 4 and 8 workers (issue 20).

Run: ``.venv/bin/python -m bench.bench_bulk [--items N] [--latency S]``. bench/stub_server.py (own
process) serves the scan pages and acknowledges every conditional UpdateItem after ``--latency``
seconds (default 5 ms, a same-region round trip); every item read is changed, so each costs one
Scan share and one UpdateItem. A LocalCluster of N single-threaded worker processes runs 16 segments;
each segment's sink keeps 16 updates in flight. Prints items/s, items/s per worker, the efficiency
against N x the 1-worker rate, and each worker's peak RSS at two job sizes (flat memory).

The machine has 2 cores: past 2 workers the client CPU is the limit, which the efficiency column
shows; docs/bulk.md projects a real cluster from the per-worker rate.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.stub_server import StubProcess, fake_aws_env


def backfill(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "gsiKey": f"{item['pk']}#{item['sk'][:6]}"}


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_once(address: str, endpoint: str, segments: int, workers: int) -> tuple[int, float]:
    from ddbkit.bulk import Job, MemoryCheckpoints, ScanSource, TableSpec, UpdateSink, run

    spec = TableSpec("Bench", key=("pk", "sk"), endpoint_url=endpoint, region_name="us-east-1")
    job = Job(ScanSource(spec, segments=segments), backfill, UpdateSink(concurrency=16),
              checkpoints=MemoryCheckpoints())
    result = run(job, "dask", workers=workers, address=address)
    assert result.ok, [s.errors for s in result.segments if s.errors]
    return result.counts.changed, result.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=32_000)
    parser.add_argument("--latency", type=float, default=0.005)
    parser.add_argument("--workers", default="1,2,4,8")
    args = parser.parse_args()
    fake_aws_env()
    from distributed import Client, LocalCluster

    segments, page = 16, 100
    pages = max(1, args.items // (segments * page))
    counts = [int(w) for w in args.workers.split(",")]
    base = 0.0
    with StubProcess(latency=args.latency, page_size=page, pages=pages) as stub:
        for n in counts:
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster, Client(cluster) as client:
                items, seconds = run_once(cluster.scheduler_address, stub.endpoint_url, segments, n)
                rate = items / seconds
                base = base or rate
                rss = max(client.run(peak_rss_mb).values())
                print(f"bulk backfill [dask {n} worker(s), {items:,} items, {args.latency * 1000:.0f} ms RTT]: "
                      f"{rate:,.0f} items/s | {rate / n:,.0f} items/s/worker | efficiency {rate / (n * base):.0%} "
                      f"| worker peak RSS {rss:.0f} MB")
        # flat memory: the same 2 workers on a job 4x larger
        stub.configure(pages=pages * 4)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            items, seconds = run_once(cluster.scheduler_address, stub.endpoint_url, segments, 2)
            rss = max(client.run(peak_rss_mb).values())
            print(f"bulk memory [dask 2 workers, {items:,} items]: worker peak RSS {rss:.0f} MB "
                  f"({items / seconds:,.0f} items/s)")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"bulk bench took {time.monotonic() - started:.0f} s")
