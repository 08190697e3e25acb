"""``ddbkit streams``: read a table's DynamoDB stream from the terminal.

``ddbkit streams tail TABLE`` prints each change as it happens (``--from trim-horizon`` to replay what the
stream still holds). It runs a :class:`~ddbkit.streams.StreamProcessor` through a
:class:`~ddbkit.stream_poller.StreamPoller`, the same path a local processor takes.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ddbkit.streams import StreamRecord


def register(group: click.Group) -> None:
    group.add_command(streams)


def _plain(value: Any) -> Any:
    """JSON for what images hold: bytes as base64, sets as sorted lists, Decimal as its exact text."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted((v if isinstance(v, (str, int)) else _plain(v) for v in value), key=str)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot show a {type(value).__name__}")


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
        return json.dumps(view, default=_plain, sort_keys=False)
    parts = [record.sequence_number]
    when = record.approximate_creation_time
    if when is not None:
        parts.append(when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    parts.append(record.event_name + (" (TTL)" if record.is_ttl_expiry else ""))
    parts.append("keys=" + json.dumps(view["keys"], default=_plain, sort_keys=True))
    if "changed" in view:
        parts.append("changed=" + ",".join(view["changed"]))
    for label, name in (("new", "newImage"), ("old", "oldImage")):
        if name in view and not (label == "old" and record.event_name == "MODIFY"):
            parts.append(f"{label}=" + json.dumps(view[name], default=_plain, sort_keys=True))
    return "  ".join(parts)


@click.group()
def streams() -> None:
    """DynamoDB Streams: watch a table's changes."""


@streams.command("tail")
@click.argument("table")
@click.option("--endpoint-url", default=None, help="DynamoDB endpoint (moto, DynamoDB Local); default AWS.")
@click.option("--region", default=None, help="AWS region (default: the environment's).")
@click.option("--from", "start", type=click.Choice(["trim-horizon", "latest"]), default="latest", show_default=True,
              help="Start at the oldest record the stream holds, or only show new changes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--max-records", type=click.IntRange(min=1), default=None, help="Stop after this many records.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@click.option("--poll-interval", type=click.FloatRange(min=0), default=0.5, show_default=True,
              help="Seconds between polls when nothing arrives.")
def tail(table: str, endpoint_url: str | None, region: str | None, start: str, as_json: bool,
         max_records: int | None, timeout: float | None, poll_interval: float) -> None:
    """Print TABLE's stream records as they arrive (Ctrl-C stops)."""
    from ddbkit.stream_poller import StreamNotFound, StreamPoller
    from ddbkit.streams import StreamProcessor
    from ddbkit_infra.cli.common import fail

    class Printer(StreamProcessor):
        def on_record(self, record: StreamRecord) -> None:
            click.echo(format_record(record, as_json))

    poller = StreamPoller(Printer(), table, region_name=region, endpoint_url=endpoint_url, start=start,
                          idle_interval=poll_interval)
    try:
        seen = poller.run(max_records=max_records, timeout=timeout)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return
    except StreamNotFound as exc:
        fail(str(exc))
    except Exception as exc:  # botocore: no credentials, connection refused, access denied...
        fail(f"cannot read the stream of {table!r}: {exc}")
    if not as_json:
        click.echo(f"-- {seen} record(s)", err=True)
