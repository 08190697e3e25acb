"""Peak memory of ``Table.batch_write`` fed a generator: 100k vs 1M items (issue 15).

Run: ``.venv/bin/python -m bench.bench_memory``. Each size runs in a fresh interpreter: the stub server
(bench/stub_server.py, on a thread of that process; it stores nothing) and ``Table(transport="fast")``
with 8 calls in flight; the generator yields small items (7 attributes, a list and a map). Reported: RSS
before the write (after one warm-up call), at the middle of the input, at the end, and the peak (VmHWM).
Goal (issue 26): flat, i.e. peak at 1M <= 1.1x peak at 100k (``--quick``: 20k and 100k). tests/core/test_batch_pipeline_memory.py asserts
the growth bound with 200k items.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.goals import QUICK, ratio_line

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys
from bench.stub_server import StubConfig, StubServer, fake_aws_env
fake_aws_env()
from ddbkit import Table
from ddbkit.core.retry import RetryPolicy

def rss_kb(field="VmRSS"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0

N = int(sys.argv[1])
marks = {}
def items():
    for i in range(N):
        if i == N // 2:
            marks["half"] = rss_kb()
        yield {"pk": "p", "sk": f"{i:08d}", "userId": f"u{i % 997}", "n": i, "tags": ["a", "b"],
               "m": {"x": i, "y": "z"}}

with StubServer(StubConfig()) as stub:
    t = Table("Bench", key=("pk", "sk"), transport="fast", endpoint_url=stub.endpoint_url,
              region_name="us-east-1", retry=RetryPolicy(max_attempts=3), concurrency=8)
    t.batch_write([{"pk": "p", "sk": "warm"}])  # pool, connections and imports up before the baseline
    marks["base"] = rss_kb()
    result = t.batch_write(items())
    marks["end"] = rss_kb()
    marks["peak"] = rss_kb("VmHWM")
    marks["written"] = result.written
print(json.dumps(marks))
"""


def run(n: int, timeout: float = 600) -> dict[str, Any]:
    """RSS marks (kB) of one batch_write of an ``n``-item generator in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(n)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=timeout, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> list[str]:
    default = "20000,100000" if QUICK else "100000,1000000"
    sizes = [int(x) for x in os.environ.get("DDBKIT_BENCH_MEMORY_SIZES", default).split(",")]
    marks = {n: run(n) for n in sizes}
    lines = []
    for n, m in marks.items():
        assert m["written"] == n
        lines.append(f"batch_write of a {n:,}-item generator, peak RSS: ddbkit {m['peak'] / 1024:.0f} MB | baseline "
                     f"{m['base'] / 1024:.0f} MB | growth {(m['peak'] - m['base']) / 1024:+.0f} MB (RSS at half "
                     f"{m['half'] / 1024:.0f} MB, at end {m['end'] / 1024:.0f} MB)")
    if len(sizes) >= 2:
        a, b = marks[sizes[0]], marks[sizes[-1]]
        lines.append(ratio_line("memory", f"peak RSS, {sizes[-1]:,}-item vs {sizes[0]:,}-item generator (flat)",
                                "7-attribute", "ddbkit fast sync", f"{sizes[0]:,} items", b["peak"] / 1024,
                                a["peak"] / 1024, "MB", 1.1))
    for text in lines:
        print(text)
    return lines


if __name__ == "__main__":
    main()
