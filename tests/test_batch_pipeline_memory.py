"""The memory bound of the streaming batch write (issue 15), asserted, not timed: a generator of 200k
items written through the fast transport to bench/stub_server.py in a fresh interpreter; the resident
set may not grow between item 100k and item 200k (the old pipeline grew ~5 KB per item: +500 MB here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys
from bench.stub_server import StubConfig, StubServer
from ddbkit import Table
from ddbkit.retry import RetryPolicy

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
    t.batch_write([{"pk": "p", "sk": "warm"}] * 1)  # pool, connections and imports up before the baseline
    marks["base"] = rss_kb()
    result = t.batch_write(items())
    marks["end"] = rss_kb()
    marks["peak"] = rss_kb("VmHWM")
    marks["written"] = result.written
print(json.dumps(marks))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status (Linux)")
def test_batch_write_of_a_200k_generator_holds_flat_memory() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, "200000"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    marks = json.loads(out.stdout.strip().splitlines()[-1])
    assert marks["written"] == 200_000
    mb = {k: v / 1024 for k, v in marks.items() if k != "written"}
    print(f"\nRSS MB: base {mb['base']:.0f}, at 100k {mb['half']:.0f}, at 200k {mb['end']:.0f}, peak {mb['peak']:.0f}")
    assert mb["end"] - mb["half"] < 16, mb  # flat: no growth with the input's length
    assert mb["peak"] - mb["base"] < 60, mb  # and small: O(concurrency x 25) items in flight
