"""A dry run: what a job would read, write and cost, before it runs.

For a scan source the item count and bytes come from DescribeTable (DynamoDB refreshes them about
every six hours) or, with ``exact=True``, from a COUNT scan (which itself costs the reads). The share
of items the function changes and their mean size come from running the function on a sample of the
first segment's items, writing nothing. Capacity: a scan reads 4 KB per read unit (half a unit per
4 KB when eventually consistent); a conditional update costs 1 write unit per started KB of the item.
On-demand prices are parameters (defaults: us-east-1 standard table class, per million request
units, as AWS lists them since November 2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ddbkit.bulk.job import Job
from ddbkit.bulk.sources import ScanSource


__all__ = ["Estimate", "estimate", "PRICE_PER_MILLION_READS", "PRICE_PER_MILLION_WRITES"]

PRICE_PER_MILLION_READS = 0.125
PRICE_PER_MILLION_WRITES = 0.625


@dataclass
class Estimate:
    items: int
    bytes: int
    sampled: int
    change_ratio: float
    mean_item_bytes: float
    read_units: float
    write_units: float
    on_demand_cost_usd: float
    seconds_at_rate: float | None

    def lines(self) -> list[str]:
        out = [f"items: {self.items:,} ({self.bytes:,} bytes)",
               f"sampled {self.sampled} items: {self.change_ratio:.0%} would change, mean {self.mean_item_bytes:,.0f} B",
               f"read units: {self.read_units:,.0f}", f"write units: {self.write_units:,.0f}",
               f"on-demand cost: ${self.on_demand_cost_usd:,.2f}"]
        if self.seconds_at_rate is not None:
            out.append(f"time at the rate limit: {self.seconds_at_rate:,.0f} s")
        return out


def estimate(job: Job, *, sample: int = 200, exact: bool = False,
             price_reads: float = PRICE_PER_MILLION_READS, price_writes: float = PRICE_PER_MILLION_WRITES) -> Estimate:
    """Estimate ``job`` (a scan job) without writing anything; see the module docs."""
    from ddbkit.core.codec import item_size, marshal_item

    source = job.source
    if not isinstance(source, ScanSource):
        raise TypeError("estimate() works on scan jobs; a file or export job's size is its input's size")
    spec = source.table
    assert not isinstance(spec, str)
    table = spec.open()
    desc = table.describe()
    items = int(desc.get("ItemCount") or 0)
    size = int(desc.get("TableSizeBytes") or 0)
    if exact:
        items = table.count(index=source.index) if source.index is None else table.count(index=source.index)
    sampled: list[dict[str, Any]] = []
    for page in source.pages(0, None):
        sampled.extend(page.items)
        if len(sampled) >= sample or page.position is None:
            break
    sampled = sampled[:sample]
    sizes = [item_size(marshal_item(i)) for i in sampled]
    mean = sum(sizes) / len(sizes) if sizes else 0.0
    if exact or not size:
        size = int(mean * items)
    changed = sum(1 for i in sampled if job.fn(dict(i)) not in (None,)) if sampled else 0
    ratio = changed / len(sampled) if sampled else 0.0
    reads = size / 4096 * (1.0 if source.consistent else 0.5)
    writes = items * ratio * max(1, math.ceil(mean / 1024)) if items else 0.0
    cost = reads / 1e6 * price_reads + writes / 1e6 * price_writes
    seconds = None
    if job.rate_wcu or job.rate_rcu:
        seconds = max(writes / job.rate_wcu if job.rate_wcu else 0.0, reads / job.rate_rcu if job.rate_rcu else 0.0)
    return Estimate(items, size, len(sampled), ratio, mean, math.ceil(reads), math.ceil(writes), cost, seconds)


