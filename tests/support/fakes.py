"""A scriptable in-memory transport for unit tests of the engine (no network, deterministic).

It implements just enough of DynamoDB for the batch and retry paths: DescribeTable, PutItem, GetItem,
BatchWriteItem, BatchGetItem and Scan over a dict, and injects faults on demand: errors raised per call
and a share of each batch left unprocessed. It enforces DynamoDB's 25/100 request limits and the
no-duplicate-keys rule, so a client that breaks them fails here as on AWS.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from ddbkit.core.batch import key_id
from ddbkit.errors import DynamoDBError
from ddbkit.transport.errors import error_from_response


class FakeDynamo:
    def __init__(self, table: str = "Things", keys: tuple[str, ...] = ("pk",), seed: int = 0,
                 unprocessed_rate: float = 0.0, types: dict[str, str] | None = None) -> None:
        self.table = table
        self.keys = keys
        self.types = types or {k: "S" for k in keys}
        self.items: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.unprocessed_rate = unprocessed_rate
        self.rng = random.Random(seed)
        self.errors: list[DynamoDBError | None] = []  # popped per call: None = no fault
        self.fault: Callable[[str, dict[str, Any]], DynamoDBError | None] | None = None
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = 0.0

    # Transport protocol
    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        import time

        with self.lock:
            self.calls.append((operation, request))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            err = self.errors.pop(0) if self.errors else None
            if err is None and self.fault is not None:
                err = self.fault(operation, request)
        try:
            if self.delay:
                time.sleep(self.delay)
            if err is not None:
                raise err
            with self.lock:
                return getattr(self, "_" + operation)(request)  # type: ignore[no-any-return]
        finally:
            with self.lock:
                self.in_flight -= 1

    def close(self) -> None:
        pass

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)

    @staticmethod
    def error(code: str, status: int = 400, message: str = "injected") -> DynamoDBError:
        return error_from_response(code, message, status=status)

    # operations
    def _DescribeTable(self, req: dict[str, Any]) -> dict[str, Any]:
        schema = [{"AttributeName": self.keys[0], "KeyType": "HASH"}]
        if len(self.keys) > 1:
            schema.append({"AttributeName": self.keys[1], "KeyType": "RANGE"})
        return {"Table": {"TableName": self.table, "KeySchema": schema,
                          "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t}
                                                   for k, t in self.types.items()]}}

    def _PutItem(self, req: dict[str, Any]) -> dict[str, Any]:
        self.items[key_id(req["Item"], self.keys)] = req["Item"]
        return {}

    def _GetItem(self, req: dict[str, Any]) -> dict[str, Any]:
        item = self.items.get(key_id(req["Key"], self.keys))
        return {"Item": item} if item else {}

    def _BatchWriteItem(self, req: dict[str, Any]) -> dict[str, Any]:
        writes = req["RequestItems"][self.table]
        if len(writes) > 25:
            raise self.error("ValidationException", message="Too many items requested for the BatchWriteItem call")
        ids = [key_id(w.get("PutRequest", {}).get("Item") or w["DeleteRequest"]["Key"], self.keys) for w in writes]
        if len(set(ids)) != len(ids):
            raise self.error("ValidationException", message="Provided list of item keys contains duplicates")
        unprocessed = []
        for w, kid in zip(writes, ids, strict=True):
            if self.unprocessed_rate and self.rng.random() < self.unprocessed_rate:
                unprocessed.append(w)
                continue
            if "PutRequest" in w:
                self.items[kid] = w["PutRequest"]["Item"]
            else:
                self.items.pop(kid, None)
        out: dict[str, Any] = {"UnprocessedItems": {self.table: unprocessed} if unprocessed else {},
                               "ConsumedCapacity": [{"TableName": self.table,
                                                     "CapacityUnits": float(len(writes) - len(unprocessed))}]}
        return out

    def _BatchGetItem(self, req: dict[str, Any]) -> dict[str, Any]:
        keys = req["RequestItems"][self.table]["Keys"]
        if len(keys) > 100:
            raise self.error("ValidationException", message="Too many items requested for the BatchGetItem call")
        ids = [key_id(k, self.keys) for k in keys]
        if len(set(ids)) != len(ids):
            raise self.error("ValidationException", message="Provided list of item keys contains duplicates")
        found, unprocessed = [], []
        for k, kid in zip(keys, ids, strict=True):
            if self.unprocessed_rate and self.rng.random() < self.unprocessed_rate:
                unprocessed.append(k)
            elif kid in self.items:
                found.append(self.items[kid])
        return {"Responses": {self.table: found},
                "UnprocessedKeys": {self.table: {"Keys": unprocessed}} if unprocessed else {}}

    def _Scan(self, req: dict[str, Any]) -> dict[str, Any]:
        ordered = sorted(self.items.items(), key=lambda kv: repr(kv[0]))
        start = 0
        if "ExclusiveStartKey" in req:
            sk = key_id(req["ExclusiveStartKey"], self.keys)
            start = next(i for i, (k, _) in enumerate(ordered) if k == sk) + 1
        limit = req.get("Limit", 1000)
        page = ordered[start:start + limit]
        out: dict[str, Any] = {"Items": [v for _, v in page], "Count": len(page), "ScannedCount": len(page)}
        if start + limit < len(ordered):
            out["LastEvaluatedKey"] = {k: page[-1][1][k] for k in self.keys}
        return out
