"""Idempotency overhead per invocation: ddbkit.idempotency vs Powertools' idempotency, on the same stub.

Run: ``.venv/bin/python -m bench.bench_idempotency``. Both decorate the same handler (it returns its
event's body) keyed on ``body`` and talk to bench/stub_server.py in its own process:

* first run (a new key): lock (conditional PutItem), run, record the result (ddbkit: PutItem;
  Powertools: UpdateItem) - 2 calls each;
* repeat (a key already completed): the stub answers the lock with ConditionalCheckFailed carrying the
  completed record (ReturnValuesOnConditionCheckFailure), which both return without a second call;
* repeat with ddbkit's local cache: no call at all (Powertools' ``use_local_cache`` is measured too).

Two events: a flat one and one with a Decimal, a list and a nested map. Reported: client CPU (this
process, user + system) per invocation, calls per invocation counted by the stub, and the ratio
Powertools / ddbkit (higher is better for ddbkit), all in the same run.
"""

from __future__ import annotations

import gc
import json
import os
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bench.stub_server import FaultRule, StubProcess, fake_aws_env

TABLE = "Bench"
BUDGET = float(os.environ.get("DDBKIT_BENCH_BUDGET", "1.5"))  # seconds per client and case
MIN_INVOCATIONS = 300  # the botocore paths wait ~10 ms per call on the stub: enough samples anyway

EVENTS: dict[str, dict[str, Any]] = {
    "flat": {"body": {"orderId": "o-1", "customer": "c-42", "amount": 1250, "currency": "EUR", "express": True},
             "requestContext": {"requestId": "r-1"}},
    "nested": {"body": {"orderId": "o-1", "customer": {"id": "c-42", "tier": "gold", "address": {"city": "Oslo",
                        "country": "NO"}}, "amount": Decimal("12.50"), "lines": [{"sku": f"s{i}", "qty": i}
                                                                                 for i in range(5)]},
               "requestContext": {"requestId": "r-1"}},
}


class Context:
    function_name = "bench"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "r-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def handler_body(event: dict[str, Any], context: Any) -> Any:
    return {"statusCode": 200, "order": event["body"]["orderId"]}


def ddbkit_handler(endpoint: str, transport: str, cache: bool) -> Callable[[dict[str, Any], Any], Any]:
    from ddbkit import Table
    from ddbkit.idempotency import IdempotencyStore, idempotent

    store = IdempotencyStore(Table(TABLE, key="id", transport=transport, endpoint_url=endpoint,
                                   region_name="us-east-1", return_consumed_capacity="NONE"), local_cache=cache)
    return idempotent(store, event_key="body")(handler_body)


def powertools_handler(endpoint: str, cache: bool) -> Callable[[dict[str, Any], Any], Any]:
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    layer = DynamoDBPersistenceLayer(table_name=TABLE, boto3_client=client)
    return idempotent(persistence_store=layer, config=IdempotencyConfig(event_key_jmespath="body",
                                                                        use_local_cache=cache))(handler_body)


def completed_item(event: dict[str, Any]) -> dict[str, Any]:
    return {"id": {"S": "bench#key"}, "status": {"S": "COMPLETED"}, "expiration": {"N": str(int(time.time()) + 3600)},
            "data": {"S": json.dumps(handler_body(event, None), sort_keys=True)}}


def measure(stub: StubProcess, fn: Callable[[dict[str, Any], Any], Any], events: Callable[[int], dict[str, Any]]
            ) -> tuple[float, float, int]:
    """(CPU µs per invocation, calls per invocation, invocations)."""
    ctx = Context()
    for i in range(50):
        fn(events(-1 - i), ctx)
    gc.collect()
    r0 = stub.stats().get("requests", 0)
    c0, t0 = time.process_time(), time.perf_counter()
    n = 0
    while True:
        for _ in range(100):
            fn(events(n), ctx)
            n += 1
        if time.perf_counter() - t0 >= BUDGET and n >= MIN_INVOCATIONS:
            break
    cpu = time.process_time() - c0
    calls = stub.stats().get("requests", 0) - r0  # control calls are not counted
    return cpu / n * 1e6, calls / n, n


def main() -> None:
    fake_aws_env()
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "bench"
    warnings.simplefilter("ignore")
    with StubProcess(table=TABLE, key_names=["id"]) as stub:
        url = stub.endpoint_url
        for label, base in EVENTS.items():

            def fresh(i: int, base: dict[str, Any] = base) -> dict[str, Any]:
                return {**base, "body": {**base["body"], "orderId": f"o-{i}"}}

            def same(i: int, base: dict[str, Any] = base) -> dict[str, Any]:
                return base

            clients: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
                ("ddbkit fast", lambda: ddbkit_handler(url, "fast", False), lambda: ddbkit_handler(url, "fast", True)),
                ("ddbkit botocore", lambda: ddbkit_handler(url, "botocore", False),
                 lambda: ddbkit_handler(url, "botocore", True)),
                ("Powertools", lambda: powertools_handler(url, False), lambda: powertools_handler(url, True)),
            ]
            results: dict[tuple[str, str], tuple[float, float, int]] = {}
            for name, plain, cached in clients:
                stub.reset()
                results[(name, "first run")] = measure(stub, plain(), fresh)
                stub.reset()
                stub.add_faults(FaultRule(operation="PutItem", code="ConditionalCheckFailedException", times=-1,
                                          message="The conditional request failed",
                                          extra={"Item": completed_item(base)}))
                results[(name, "repeat")] = measure(stub, plain(), same)
                stub.reset()
                results[(name, "repeat, local cache")] = measure(stub, cached(), same)
            stub.reset()
            for case in ("first run", "repeat", "repeat, local cache"):
                pt_cpu, pt_calls, _ = results[("Powertools", case)]
                for name in ("ddbkit fast", "ddbkit botocore"):
                    cpu, calls, n = results[(name, case)]
                    print(f"idempotency {case} [{label} event] [{name} vs Powertools]: client CPU {cpu:.0f} µs/invocation "
                          f"vs {pt_cpu:.0f} µs (ratio {pt_cpu / cpu:.2f}x); calls/invocation {calls:.2f} vs "
                          f"{pt_calls:.2f} ({n} invocations)")


if __name__ == "__main__":
    main()
