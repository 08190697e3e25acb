"""A/B of the codec: ``ddbkit/core/codec.py`` at a git revision vs the working tree's, in one process.

Run: ``.venv/bin/python -m bench.codec_ab [REV]`` (default ``32b6c85``, the codec before issue 26). For each
bench/items.py item: ``marshal_item``, ``marshal_put`` (+ key and 400 KB checks) and ``unmarshal_item``, the
two codecs interleaved round by round (alternating which runs first), best of 15 rounds of 2,000 calls, µs per item. Both must give the
same output first. Not part of ``bench.run_all`` (it compares ddbkit with itself).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

from bench.items import ITEMS, WIRE
from ddbkit.core import codec as new

ROOT = Path(__file__).resolve().parents[1]


def load_old(rev: str) -> Any:
    source = subprocess.run(["git", "show", f"{rev}:ddbkit/core/codec.py"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "codec_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("codec_old", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["codec_old"] = module
    spec.loader.exec_module(module)
    return module


def main(rev: str = "32b6c85") -> list[str]:
    old = load_old(rev)
    lines = []
    for name, item in ITEMS.items():
        keyed, wire = {"pk": "p", "sk": "s", **item}, WIRE[name]
        assert new.marshal_item(item) == old.marshal_item(item)
        assert new.unmarshal_item(wire) == old.unmarshal_item(wire)
        cases = {"marshal_item": lambda m: lambda: m.marshal_item(item),  # noqa: B023
                 "marshal_put": lambda m: lambda: m.marshal_put(keyed, ("pk", "sk")),  # noqa: B023
                 "unmarshal_item": lambda m: lambda: m.unmarshal_item(wire)}  # noqa: B023
        for what, make in cases.items():
            best = {"before": float("inf"), "after": float("inf")}
            fns = {"before": make(old), "after": make(new)}
            for r in range(15):  # the order alternates round by round, so neither always runs first
                for tag in (("before", "after") if r % 2 else ("after", "before")):
                    best[tag] = min(best[tag], timeit.timeit(fns[tag], number=2000) / 2000 * 1e6)
            lines.append(f"{name} item {what}: before ({rev}) {best['before']:.2f} µs/item | after "
                         f"{best['after']:.2f} µs/item | ratio {best['after'] / best['before']:.2f}")
    for text in lines:
        print(text)
    return lines


if __name__ == "__main__":
    main(*sys.argv[1:2])
