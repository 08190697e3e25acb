"""Stream record times and the failure log line (issue 17).

``ApproximateCreationDateTime`` is epoch seconds from DynamoDB Streams/Lambda; a value in milliseconds
(Kinesis Data Streams for DynamoDB, some tools) is detected by size; anything else is a clear error, never
``ValueError: year 55840 is out of range``. The failure log line names the attempt number.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import pytest

from ddbkit.streams.records import StreamRecord

from ddbkit.streams.processors import StreamProcessor


def raw(when: Any, seq: str = "100") -> dict[str, Any]:
    return {"eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {"SequenceNumber": seq, "Keys": {"pk": {"S": "a"}}, "ApproximateCreationDateTime": when}}


EXPECTED = datetime(2024, 6, 1, 12, 0, 0, 500000, tzinfo=timezone.utc)


@pytest.mark.parametrize("when", [1717243200.5, "1717243200.5", 1717243200500, "1717243200500"],
                         ids=["seconds", "seconds-text", "milliseconds", "milliseconds-text"])
def test_seconds_and_milliseconds_give_the_same_time(when: Any) -> None:
    assert StreamRecord(raw(when)).approximate_creation_time == EXPECTED


def test_whole_seconds() -> None:
    assert StreamRecord(raw(1717243200)).approximate_creation_time == EXPECTED.replace(microsecond=0)


@pytest.mark.parametrize("when", ["soon", 1e30, [1]])
def test_unreadable_time_is_a_clear_error(when: Any) -> None:
    with pytest.raises(ValueError, match=r"stream record 100: ApproximateCreationDateTime .* is not epoch seconds "
                                         r"or milliseconds") as exc:
        StreamRecord(raw(when)).approximate_creation_time  # noqa: B018
    assert "year" not in str(exc.value)


def test_failure_log_line_shows_the_attempt_number(caplog: pytest.LogCaptureFixture) -> None:
    class Failing(StreamProcessor):
        def on_record(self, record: StreamRecord) -> None:
            raise RuntimeError("boom")

    processor = Failing()  # no dead-letter hook: attempts are still counted for the log
    event = {"Records": [raw(1717243200, "7")]}
    with caplog.at_level(logging.ERROR, logger="ddbkit.streams"):
        processor.handler(event)
        processor.handler(event)
    lines = [r.getMessage() for r in caplog.records if "failed (attempt" in r.getMessage()]
    assert [line.split("failed ")[1].split(":")[0] for line in lines] == ["(attempt 1)", "(attempt 2)"]
    assert "attempt -" not in caplog.text
