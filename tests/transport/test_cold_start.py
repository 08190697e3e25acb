"""Cold start (issue #26): a sync ``Table`` with its key given reaches its first GetItem without importing what
that call does not need: no botocore client machinery (the environment gives credentials, region and endpoint:
tests/parity/test_parity_light.py), no asyncio, no aiohttp (on the async side either), no aioboto3 transport,
no config model. A fresh
interpreter against moto's server checks ``sys.modules``; no timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from backends import Backend

ROOT = Path(__file__).resolve().parents[2]

HANDLER = textwrap.dedent("""
    import json, sys
    import ddbkit

    table = ddbkit.Table(sys.argv[2], key="pk", endpoint_url=sys.argv[1], region_name="us-east-1")
    table.put({"pk": "a", "n": 1})
    got = table.get({"pk": "a"})
    async_side = sys.argv[3] == "async"
    if async_side:
        import asyncio
        from ddbkit.aio import AsyncTable

        async def run():
            async with AsyncTable(sys.argv[2], key="pk", endpoint_url=sys.argv[1], region_name="us-east-1") as t:
                return await t.get({"pk": "a"})
        got = asyncio.run(run())
    heavy = ("botocore.client", "boto3", "aiobotocore", "ddbkit.transport.aio_botocore",
             "ddbkit.transport.botocore", "pydantic", "yaml", "ddbkit.config", "aiohttp")
    if not async_side:  # the async side needs its loop (ddbkit's own HTTP client: aiohttp only behind a proxy)
        heavy += ("asyncio",)
    print(json.dumps({"item": {k: str(v) for k, v in got.items()}, "loaded": [m for m in heavy if m in sys.modules]}))
""")


@pytest.mark.integration
@pytest.mark.parametrize("side", ["sync", "async"])
def test_first_get_imports_only_what_it_needs(moto_backend: Backend, side: str) -> None:
    name = f"cold-start-{side}"
    client = moto_backend.client()
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    res = subprocess.run([sys.executable, "-c", HANDLER, str(moto_backend.endpoint_url), name, side], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["item"] == {"pk": "a", "n": "1"}
    assert out["loaded"] == []
