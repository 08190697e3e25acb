"""The memory bound of the streaming batch write (issue 15), asserted, not timed: a generator of 200k
items written through the fast transport to bench/stub_server.py in a fresh interpreter; the resident
set may not grow between item 100k and item 200k (the old pipeline grew ~5 KB per item: +500 MB here).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_memory import run


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status (Linux)")
def test_batch_write_of_a_200k_generator_holds_flat_memory() -> None:
    marks = run(200_000, timeout=300)
    assert marks["written"] == 200_000
    mb = {k: v / 1024 for k, v in marks.items() if k != "written"}
    print(f"\nRSS MB: base {mb['base']:.0f}, at 100k {mb['half']:.0f}, at 200k {mb['end']:.0f}, peak {mb['peak']:.0f}")
    assert mb["end"] - mb["half"] < 16, mb  # flat: no growth with the input's length
    assert mb["peak"] - mb["base"] < 60, mb  # and small: O(concurrency x 25) items in flight
