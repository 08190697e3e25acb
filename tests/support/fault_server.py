"""A fault-injecting DynamoDB server backed by a real (in-memory) store, for reliability tests.

It extends bench/stub_server.py's ``Stub`` (the same HTTP server the benches use): instead of canned
answers it stores items per table and key, and before answering it draws, from a seeded RNG, one of:
throttling (ProvisionedThroughputExceeded / Throttling), a 5xx (JSON InternalServerError or a bare 503),
a connection reset *after* applying the request (the client cannot know it succeeded), a reply slower
than the client's read timeout (applied, then late), or a partial batch (UnprocessedItems /
UnprocessedKeys). Transactions honour ClientRequestToken like DynamoDB: the same token and request
within the window is acknowledged without being applied again.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from bench.stub_server import Reply, Stub, StubServer, _dumps

from ddbkit.core.batch import key_id

__all__ = ["FaultPlan", "FaultyStore", "start_faulty_server"]

DATA_PLANE = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "BatchGetItem",
                        "Query", "Scan", "TransactWriteItems", "TransactGetItems"})


@dataclass
class FaultPlan:
    """Rates (0..1) of each fault per data-plane request, drawn with ``seed``."""

    seed: int = 0
    throttle: float = 0.0
    server_error: float = 0.0
    reset_after_apply: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 1.0
    unprocessed: float = 0.0  # share of a batch's items left unprocessed (per item)
    operations: frozenset[str] = DATA_PLANE


class FaultyStore(Stub):
    def __init__(self, tables: dict[str, tuple[str, ...]], plan: FaultPlan | None = None) -> None:
        super().__init__()
        self.tables = tables
        self.plan = plan or FaultPlan()
        self.rng = random.Random(self.plan.seed)
        self.items: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {t: {} for t in tables}
        self.tokens: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def set_plan(self, plan: FaultPlan) -> None:
        with self.lock:
            self.plan = plan
            self.rng = random.Random(plan.seed)

    # -- faults -----------------------------------------------------------------------------------
    def fault_hook(self, operation: str, request: dict[str, Any]) -> Reply | None:
        plan = self.plan
        if operation not in plan.operations:
            return None
        with self.lock:
            r = self.rng.random()
        edge = plan.throttle
        if r < edge:
            self.counters["throttles"] += 1
            code = "ProvisionedThroughputExceededException" if r < edge / 2 else "ThrottlingException"
            return Reply.error(code, "Rate of requests exceeds the allowed throughput.", 400)
        edge += plan.server_error
        if r < edge:
            self.counters["server_errors"] += 1
            if r < edge - plan.server_error / 2:
                return Reply.error("InternalServerError", "Internal server error", 500)
            return Reply(503, b"Service Unavailable", content_type="text/plain")
        edge += plan.reset_after_apply
        if r < edge:
            self.counters["resets"] += 1
            self.answer(operation, request)  # applied, but the client never hears so
            return Reply(drop=True)
        edge += plan.slow
        if r < edge:
            self.counters["slow"] += 1
            reply = self.answer(operation, request)
            reply.delay += plan.slow_seconds
            return reply
        return None

    def _partial(self, n: int) -> list[bool]:
        with self.lock:
            return [self.rng.random() < self.plan.unprocessed for _ in range(n)]

    # -- the store --------------------------------------------------------------------------------
    def _kid(self, table: str, item: dict[str, Any]) -> tuple[Any, ...]:
        return key_id(item, self.tables[table])

    def answer(self, operation: str, request: dict[str, Any]) -> Reply:
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            return super().answer(operation, request)
        try:
            return Reply(body=_dumps(handler(request)))
        except _Error as err:
            return Reply.error(err.code, err.message, 400, **err.extra)

    def _op_DescribeTable(self, req: dict[str, Any]) -> dict[str, Any]:
        names = self.tables[req["TableName"]]
        schema = [{"AttributeName": n, "KeyType": k} for n, k in zip(names, ("HASH", "RANGE"), strict=False)]
        return {"Table": {"TableName": req["TableName"], "TableStatus": "ACTIVE", "KeySchema": schema,
                          "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in names]}}

    def _op_PutItem(self, req: dict[str, Any]) -> dict[str, Any]:
        t = req["TableName"]
        with self.lock:
            self.items[t][self._kid(t, req["Item"])] = req["Item"]
        return {}

    def _op_GetItem(self, req: dict[str, Any]) -> dict[str, Any]:
        t = req["TableName"]
        item = self.items[t].get(self._kid(t, req["Key"]))
        return {"Item": item} if item else {}

    def _op_BatchWriteItem(self, req: dict[str, Any]) -> dict[str, Any]:
        unprocessed: dict[str, list[Any]] = {}
        for t, writes in req["RequestItems"].items():
            skip = self._partial(len(writes))
            with self.lock:
                for w, left in zip(writes, skip, strict=True):
                    if left:
                        unprocessed.setdefault(t, []).append(w)
                        self.counters["unprocessed"] += 1
                    elif "PutRequest" in w:
                        self.items[t][self._kid(t, w["PutRequest"]["Item"])] = w["PutRequest"]["Item"]
                    else:
                        self.items[t].pop(self._kid(t, w["DeleteRequest"]["Key"]), None)
        return {"UnprocessedItems": unprocessed}

    def _op_BatchGetItem(self, req: dict[str, Any]) -> dict[str, Any]:
        responses: dict[str, list[Any]] = {}
        unprocessed: dict[str, dict[str, Any]] = {}
        for t, spec in req["RequestItems"].items():
            keys = spec["Keys"]
            for k, left in zip(keys, self._partial(len(keys)), strict=True):
                if left:
                    unprocessed.setdefault(t, {"Keys": []})["Keys"].append(k)
                elif (item := self.items[t].get(self._kid(t, k))) is not None:
                    responses.setdefault(t, []).append(item)
        return {"Responses": responses, "UnprocessedKeys": unprocessed}

    def _ordered(self, t: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        with self.lock:
            return sorted(self.items[t].items(), key=lambda kv: repr(kv[0]))

    def _page(self, t: str, rows: list[tuple[tuple[Any, ...], dict[str, Any]]], req: dict[str, Any]) -> dict[str, Any]:
        start = 0
        if "ExclusiveStartKey" in req:
            sk = self._kid(t, req["ExclusiveStartKey"])
            start = next((i + 1 for i, (k, _) in enumerate(rows) if k == sk), len(rows))
        limit = req.get("Limit", 100)
        page = rows[start:start + limit]
        out: dict[str, Any] = {"Items": [v for _, v in page], "Count": len(page), "ScannedCount": len(page)}
        if start + limit < len(rows):
            out["LastEvaluatedKey"] = {n: page[-1][1][n] for n in self.tables[t]}
        return out

    def _op_Scan(self, req: dict[str, Any]) -> dict[str, Any]:
        return self._page(req["TableName"], self._ordered(req["TableName"]), req)

    def _op_Query(self, req: dict[str, Any]) -> dict[str, Any]:
        # enough of Query for the tests: partition key equality (the client's "#n0 = :v0")
        t = req["TableName"]
        hash_name = self.tables[t][0]
        value = req["ExpressionAttributeValues"][":v0"]
        assert req["ExpressionAttributeNames"]["#n0"] == hash_name
        rows = [(k, v) for k, v in self._ordered(t) if v[hash_name] == value]
        return self._page(t, rows, req)

    def _op_TransactWriteItems(self, req: dict[str, Any]) -> dict[str, Any]:
        token = req.get("ClientRequestToken")
        body = _dumps(req["TransactItems"])
        with self.lock:
            if token is not None and token in self.tokens:
                if self.tokens[token] != body:
                    raise _Error("IdempotentParameterMismatchException", "token reused with other parameters")
                self.counters["idempotent_replays"] += 1
                return {}
            for action in req["TransactItems"]:
                (kind, spec), = action.items()
                t = spec["TableName"]
                if kind == "Put":
                    self.items[t][self._kid(t, spec["Item"])] = spec["Item"]
                elif kind == "Delete":
                    self.items[t].pop(self._kid(t, spec["Key"]), None)
                elif kind == "Update":  # "ADD #n0 :v0" counters, enough to see double application
                    item = self.items[t].setdefault(self._kid(t, spec["Key"]), dict(spec["Key"]))
                    name = spec["ExpressionAttributeNames"]["#n0"]
                    add = int(spec["ExpressionAttributeValues"][":v0"]["N"])
                    item[name] = {"N": str(int(item.get(name, {"N": "0"})["N"]) + add)}
            if token is not None:
                self.tokens[token] = body
        return {}


class _Error(Exception):
    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra


def start_faulty_server(tables: dict[str, tuple[str, ...]], plan: FaultPlan | None = None) -> tuple[StubServer, FaultyStore]:
    store = FaultyStore(tables, plan)
    server = StubServer(stub=store)
    server.start()
    return server, store
