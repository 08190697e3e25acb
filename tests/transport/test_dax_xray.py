"""DAX as a transport, X-Ray tracing through the tracing interface, and import cost."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from fakes import FakeDynamo

from ddbkit import Table, Update
from ddbkit.config import parse_table_config
from ddbkit.transport.dax import DAX_OPERATIONS, DaxTransport
from ddbkit.errors import ConnectionFailed, ThrottledError
from ddbkit.core.retry import RetryPolicy
from ddbkit.tracing.api import NoopTracer, set_tracer


class RecordingDax:
    """Stands in for amazondax.AmazonDaxClient: boto3-shaped methods backed by a FakeDynamo."""

    def __init__(self, fake: FakeDynamo, missing: tuple[str, ...] = ()) -> None:
        self.fake = fake
        self.calls: list[str] = []
        self.missing = missing

    def __getattr__(self, name: str) -> Any:
        op = "".join(p.capitalize() for p in name.split("_"))

        def method(**request: Any) -> dict[str, Any]:
            if op in self.missing:
                raise NotImplementedError(op)
            self.calls.append(op)
            from botocore.exceptions import ClientError

            from ddbkit.errors import DynamoDBError

            try:
                return dict(self.fake.send(op, request))
            except DynamoDBError as err:  # the real DAX client raises botocore ClientErrors
                raise ClientError({"Error": {"Code": err.code, "Message": err.message}}, name) from None

        return method

    def close(self) -> None:
        pass


def dax_table(**kw: Any) -> tuple[Table, RecordingDax, FakeDynamo, FakeDynamo]:
    cache = FakeDynamo()
    base = FakeDynamo()
    recorder = RecordingDax(cache, **kw)
    transport = DaxTransport("dax://cluster.local:8111", region_name="us-east-1", fallback=base,
                             client_factory=lambda endpoint, region, session: recorder)
    return Table("Things", transport=transport, retry=RetryPolicy(max_attempts=3, base_delay=0)), recorder, cache, base


def test_data_plane_goes_through_dax_control_plane_to_dynamodb() -> None:
    t, recorder, cache, base = dax_table()
    t.put({"pk": "a", "v": 1})
    assert t.get({"pk": "a"}) == {"pk": "a", "v": 1}
    t.batch_write([{"pk": f"k{i}"} for i in range(30)])
    assert recorder.calls == ["PutItem", "GetItem", "BatchWriteItem", "BatchWriteItem"]
    assert base.count("DescribeTable") == 1 and cache.count("DescribeTable") == 0


def test_pagination_over_dax_uses_ddbkit_cursors() -> None:
    t, recorder, cache, _ = dax_table()
    t.batch_write([{"pk": f"k{i:02d}"} for i in range(23)])
    seen, cursor = [], None
    while True:
        page = t.scan(limit=5, cursor=cursor)
        seen += [it["pk"] for it in page.items]
        cursor = page.cursor
        if not cursor:
            break
    assert sorted(seen) == [f"k{i:02d}" for i in range(23)] and recorder.calls.count("Scan") == 5


def test_unsupported_operation_falls_back_to_dynamodb() -> None:
    t, recorder, cache, base = dax_table(missing=("GetItem",))
    base.items[(("S", "a"),)] = {"pk": {"S": "a"}, "src": {"S": "dynamodb"}}
    assert t.get({"pk": "a"}) == {"pk": "a", "src": "dynamodb"}
    assert t.get({"pk": "a"}) is not None
    assert "GetItem" not in recorder.calls and base.count("GetItem") == 2


def test_dax_errors_are_mapped_and_retried() -> None:
    t, recorder, cache, _ = dax_table()
    cache.errors = [cache.error("ThrottlingException")] * 5
    with pytest.raises(ThrottledError):
        t.put({"pk": "a"})
    assert recorder.calls.count("PutItem") == 3  # DAX's ClientError mapped to ThrottledError, retried, bounded


def test_from_config_uses_the_dax_endpoint() -> None:
    cfg = parse_table_config({
        "tableName": "Sessions", "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
        "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
        "daxCluster": {"enabled": True, "clusterName": "sessions-dax", "endpoint": "daxs://sessions.dax.local"}})
    t = Table.from_config(cfg, region_name="us-east-1")
    assert isinstance(t.transport, DaxTransport) and t.transport.endpoint == "daxs://sessions.dax.local"
    assert set(DAX_OPERATIONS) >= {"GetItem", "Query", "Scan", "BatchGetItem", "PutItem"}
    with pytest.raises(ValueError):
        DaxTransport("https://not-dax", fallback=FakeDynamo())


def test_real_amazondax_client_is_built_with_the_configured_endpoint() -> None:
    """The real client tries cluster discovery at the endpoint we gave it (nothing listens: it fails)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    t = Table("Things", key="pk", dax_endpoint=f"dax://127.0.0.1:{port}", region_name="us-east-1",
              retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ConnectionFailed) as exc:
        t.get({"pk": "a"})
    assert f"127.0.0.1', {port}" in str(exc.value) and "dax://127.0.0.1" in str(exc.value)


# --------------------------------------------------------------------------------------------------
# X-Ray
# --------------------------------------------------------------------------------------------------


class CapturingEmitter:
    def __init__(self) -> None:
        self.entities: list[Any] = []

    def send_entity(self, entity: Any) -> None:
        self.entities.append(entity)

    def set_daemon_address(self, address: Any) -> None:
        pass

    @property
    def ip(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return 2000


@pytest.fixture
def xray() -> Any:
    from aws_xray_sdk.core import AWSXRayRecorder

    recorder = AWSXRayRecorder()
    emitter = CapturingEmitter()
    recorder.configure(emitter=emitter, sampling=False, context_missing="LOG_ERROR", streaming_threshold=1000)
    yield recorder, emitter


def subsegments(emitter: CapturingEmitter) -> dict[str, Any]:
    seg = emitter.entities[-1]
    return {s.name: s for s in seg.subsegments}


def test_xray_subsegment_per_operation_with_annotations(xray: Any) -> None:
    from ddbkit.tracing.xray import XRayTracer

    recorder, emitter = xray
    fake = FakeDynamo(keys=("pk", "sk"))
    t = Table("Things", transport=fake, tracing=XRayTracer(recorder), retry=RetryPolicy(max_attempts=3, base_delay=0))
    recorder.begin_segment("handler")
    fake.errors = [None, fake.error("ThrottlingException")]
    t.batch_write([{"pk": "p", "sk": str(i), "secret": "hunter2"} for i in range(30)])
    with pytest.raises(AttributeError):
        t.update({"pk": "p", "sk": "0"}, Update().set("a", 1))  # FakeDynamo lacks UpdateItem: an error span
    recorder.end_segment()
    subs = subsegments(emitter)
    bw = subs["Things.batch_write"]
    assert bw.annotations["table"] == "Things" and bw.annotations["operation"] == "batch_write"
    assert bw.annotations["items"] == 30 and bw.annotations["retries"] == 1
    assert bw.annotations["consumed_write_units"] == 30.0
    upd = subs["Things.update"]
    assert upd.annotations["error"] and upd.fault or upd.error
    doc = json.dumps([s.to_dict() for s in subs.values()], default=str)
    assert "hunter2" not in doc  # item values are never traced


def test_xray_annotates_query_index_and_counts(xray: Any) -> None:
    from ddbkit.tracing.xray import XRayTracer

    recorder, emitter = xray
    fake = FakeDynamo()
    t = Table("Things", key="pk", transport=fake, tracing=XRayTracer(recorder))
    t.batch_write([{"pk": f"k{i}"} for i in range(7)])
    recorder.begin_segment("handler")
    page = t.scan(limit=5)
    assert len(page.items) == 5
    recorder.end_segment()
    assert subsegments(emitter)["Things.scan"].annotations["items"] == 5


def test_xray_outside_a_segment_records_nothing_and_does_not_fail(xray: Any) -> None:
    from ddbkit.tracing.xray import XRayTracer

    recorder, emitter = xray
    t = Table("Things", key="pk", transport=FakeDynamo(), tracing=XRayTracer(recorder))
    t.put({"pk": "a"})
    assert emitter.entities == []


def test_tracer_interface_accepts_any_tracer() -> None:
    spans: list[tuple[str, dict[str, Any]]] = []

    class ListTracer:
        enabled = True

        def span(self, name: str, **ann: Any) -> Any:
            from contextlib import contextmanager

            @contextmanager
            def cm() -> Any:
                record: dict[str, Any] = {}

                class S:
                    def annotate(self, k: str, v: Any) -> None:
                        record[k] = v

                    def error(self, e: BaseException) -> None:
                        record["exc"] = e

                yield S()
                spans.append((name, record))

            return cm()

    fake = FakeDynamo()
    t = Table("Things", key="pk", transport=fake, tracing=ListTracer())
    t.put({"pk": "a"})
    assert spans == [("Things.put", {"table": "Things", "operation": "put", "retries": 0,
                                     "consumed_read_units": 0.0, "consumed_write_units": 0.0, "items": 0})]
    set_tracer(NoopTracer())
    try:
        assert Table("Things", key="pk", transport=fake).tracer.enabled is False
    finally:
        set_tracer(None)


def test_env_turns_on_xray(monkeypatch: pytest.MonkeyPatch) -> None:
    from ddbkit.tracing import api as tracing
    monkeypatch.setenv("DDBKIT_TRACING", "xray")
    set_tracer(None)
    try:
        assert type(tracing.current()).__name__ == "XRayTracer"
    finally:
        set_tracer(None)
        monkeypatch.delenv("DDBKIT_TRACING")
        set_tracer(None)


# --------------------------------------------------------------------------------------------------
# import cost
# --------------------------------------------------------------------------------------------------


def test_import_ddbkit_stays_light() -> None:
    code = ("import sys, ddbkit; from ddbkit import Table, Key, Attr; "
            "t = Table('Things', key='pk', region_name='us-east-1'); "
            "heavy = [m for m in ('aioboto3', 'aiobotocore', 'amazondax', 'aws_xray_sdk', 'pydantic') if m in sys.modules];"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    bare = subprocess.run([sys.executable, "-c", "import sys, ddbkit; print('boto3' in sys.modules)"],
                          capture_output=True, text=True, check=True)
    assert bare.stdout.strip() == "False"
