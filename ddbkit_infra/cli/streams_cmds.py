"""``ddbkit streams``: read a table's DynamoDB stream from the terminal.

``ddbkit streams tail TABLE`` prints each change as it happens (``--from trim-horizon`` to replay what the
stream still holds); ``--stream-arn ARN`` reads a given stream (e.g. a disabled one's last 24 hours).
Numbers are written one way: as JSON numbers with their exact DynamoDB digits. It runs a :class:`~ddbkit.streams.processors.StreamProcessor` through a
:class:`~ddbkit.streams.poller.StreamPoller`, the same path a local processor takes.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from ddbkit_infra.cli.common import PROFILE_HELP, REGION_HELP

if TYPE_CHECKING:
    from ddbkit.streams.records import StreamRecord


def register(group: click.Group) -> None:
    group.add_command(streams)


def _plain(value: Any) -> Any:
    """JSON for what images hold: bytes as base64, sets as sorted lists, times as ISO 8601."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted((v if isinstance(v, (str, int)) else _plain(v) for v in value), key=str)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot show a {type(value).__name__}")


def _numbers_marked(value: Any, mark: str) -> Any:
    """``value`` with every number (int or Decimal, not bool) replaced by ``mark + its exact text + mark``."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal)):
        return f"{mark}{value}{mark}"
    if isinstance(value, dict):
        return {k: _numbers_marked(v, mark) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers_marked(v, mark) for v in value]
    if isinstance(value, (set, frozenset)):
        if all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in value):
            return [_numbers_marked(v, mark) for v in sorted(value)]  # a number set: in numeric order
        return _plain(value)
    return _plain(value)


def dumps(data: Any, *, sort_keys: bool = False) -> str:
    """JSON where every DynamoDB number is a JSON number with its exact digits (never a string, never a
    float's rounding), so an attribute keeps one type from record to record."""
    mark = f"\x00{uuid.uuid4().hex}"  # no attribute value contains this: numbers are unmarked below
    text = json.dumps(_numbers_marked(data, mark), default=_plain, sort_keys=sort_keys)
    quoted = json.dumps(mark)[1:-1]
    return re.sub(f'"{re.escape(quoted)}([^"]*?){re.escape(quoted)}"', r"\1", text)


def record_view(record: StreamRecord) -> dict[str, Any]:
    """What ``tail`` shows of a record, as a JSON-ready dict."""
    view: dict[str, Any] = {
        "eventName": record.event_name,
        "sequenceNumber": record.sequence_number,
        "table": record.table_name,
        "approximateCreationDateTime": record.approximate_creation_time,
        "keys": record.keys,
    }
    if record.is_ttl_expiry:
        view["ttlExpiry"] = True
    if record.new_image is not None:
        view["newImage"] = record.new_image
    if record.old_image is not None:
        view["oldImage"] = record.old_image
    if record.event_name == "MODIFY" and record.new_image is not None and record.old_image is not None:
        view["changed"] = sorted(record.changed_attributes)
    return view


def format_record(record: StreamRecord, as_json: bool) -> str:
    """One line per record: JSON, or ``SEQ TIME EVENT keys=... changed=... new=...`` for people."""
    view = record_view(record)
    if as_json:
        return dumps(view)
    parts = [record.sequence_number]
    when = record.approximate_creation_time
    if when is not None:
        parts.append(when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    parts.append(record.event_name + (" (TTL)" if record.is_ttl_expiry else ""))
    parts.append("keys=" + dumps(view["keys"], sort_keys=True))
    if "changed" in view:
        parts.append("changed=" + ",".join(view["changed"]))
    for label, name in (("new", "newImage"), ("old", "oldImage")):
        if name in view and not (label == "old" and record.event_name == "MODIFY"):
            parts.append(f"{label}=" + dumps(view[name], sort_keys=True))
    return "  ".join(parts)


@click.group()
def streams() -> None:
    """DynamoDB Streams: watch a table's changes."""


@streams.command("tail")
@click.argument("table", required=False)
@click.option("--stream-arn", default=None,
              help="Read this stream instead of TABLE's current one (e.g. a disabled stream, for 24 hours).")
@click.option("--endpoint-url", default=None, help="DynamoDB endpoint (moto, DynamoDB Local); default AWS.")
@click.option("--region", default=None, help=REGION_HELP)
@click.option("--profile", default=None, help=PROFILE_HELP)
@click.option("--from", "start", type=click.Choice(["trim-horizon", "latest"]), default="latest", show_default=True,
              help="Start at the oldest record the stream holds, or only show new changes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (numbers as JSON numbers).")
@click.option("--max-records", type=click.IntRange(min=1), default=None, help="Stop after this many records.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@click.option("--poll-interval", type=click.FloatRange(min=0), default=0.5, show_default=True,
              help="Seconds between polls when nothing arrives.")
def tail(table: str | None, stream_arn: str | None, endpoint_url: str | None, region: str | None,
         profile: str | None, start: str, as_json: bool, max_records: int | None, timeout: float | None,
         poll_interval: float) -> None:
    """Print TABLE's stream records as they arrive (Ctrl-C stops); or those of --stream-arn ARN."""
    from ddbkit.streams.poller import StreamNotFound, StreamPoller
    from ddbkit.streams.processors import StreamProcessor
    from ddbkit_infra.cli.common import EXIT_USAGE, explain, fail, resolve_region, session

    if (table is None) == (stream_arn is None):
        fail("give a TABLE or --stream-arn ARN (one of them)", EXIT_USAGE)
    what = f"table {table}" if table else f"stream {stream_arn}"
    resolved = resolve_region(region, profile)

    class Printer(StreamProcessor):
        def on_record(self, record: StreamRecord) -> None:
            click.echo(format_record(record, as_json))

    poller = StreamPoller(Printer(), table, stream_arn=stream_arn, session=session(resolved, profile),
                          region_name=resolved, endpoint_url=endpoint_url, start=start, idle_interval=poll_interval)
    try:
        seen = poller.run(max_records=max_records, timeout=timeout)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return
    except StreamNotFound as exc:
        fail(f"{what}: {str(exc).replace('pass stream_arn', 'pass --stream-arn ARN')}")
    except Exception as exc:  # botocore: no credentials, connection refused, access denied...
        fail(f"{what}: cannot read the stream: {explain(exc, resolved)}")
    if not as_json:
        click.echo(f"-- {seen} record(s)", err=True)
