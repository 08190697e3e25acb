"""Cold import cost: ``import ddbkit`` + creating a Table vs ``import boto3`` + creating a client.

Each figure is the median of fresh interpreters (the import time inside the process, without
interpreter start-up). Run: ``.venv/bin/python -m bench.bench_import``. Target (issue 9): ddbkit import
+ Table <= boto3 import + client + 20 ms; ``import ddbkit`` alone loads none of boto3, pydantic,
aioboto3, amazondax, aws_xray_sdk.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from bench.goals import QUICK

SNIPPETS = {
    "boto3 import + client": "import boto3; boto3.client('dynamodb', region_name='us-east-1')",
    "ddbkit import + Table": "import ddbkit; ddbkit.Table('Things', key='pk', region_name='us-east-1')",
    "ddbkit import alone": "import ddbkit",
    "aioboto3 import": "import aioboto3",
    "aws_xray_sdk import": "import aws_xray_sdk.core",
    "amazondax import": "import amazondax",
    "ddbkit.config (pydantic models)": "import ddbkit.config",
}


def measure(code: str, runs: int = 2 if QUICK else 7) -> float:
    wrapper = ("import time; t = time.perf_counter(); " + code +
               "; print((time.perf_counter() - t) * 1000)")
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> list[str]:
    # Deployed code runs from bytecode (pip and Lambda packaging compile it); this machine sets
    # PYTHONDONTWRITEBYTECODE, so compile ddbkit explicitly or every run would time the compiler.
    import compileall
    import pathlib

    import ddbkit

    compileall.compile_dir(str(pathlib.Path(ddbkit.__file__).parent), quiet=1)
    results = {name: measure(code) for name, code in SNIPPETS.items()}
    base = results["boto3 import + client"]
    lines = []
    for name, ms in results.items():
        if name == "boto3 import + client":
            continue
        lines.append(f"cold {name}: ddbkit {ms:.0f} ms | boto3 import + client {base:.0f} ms | "
                     f"ratio {base / ms:.2f}x | delta {ms - base:+.0f} ms")
    for text in lines:
        print(text)
    return lines


if __name__ == "__main__":
    main()
