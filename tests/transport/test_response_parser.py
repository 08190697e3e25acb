"""The sans-I/O HTTP/1.1 response parser both fast transports feed (``ddbkit.transport.wire.ResponseParser``).

Every case is fed whole, byte by byte, and split at hypothesis-chosen points: the result must not depend
on how the bytes arrive (a socket returns them in any pieces).
"""

from __future__ import annotations

import http.client
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddbkit.transport.wire import InvalidHTTPResponse, ResponseParser, read_response, request_head


def parse(pieces: list[bytes], close: bool = True) -> tuple[int, bytes, str | None, bool]:
    """Feed ``pieces``; at their end, say the connection closed when ``close`` and the parser still waits."""
    parser = ResponseParser()
    for piece in pieces:
        if parser.feed(piece):
            break
    else:
        if not close:
            raise AssertionError("incomplete")
        parser.eof()
    return parser.status, parser.body, parser.crc, parser.keep_alive


def splits(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(raw[last:p])
        last = p
    pieces.append(raw[last:])
    return [p for p in pieces if p]


CASES: list[tuple[str, bytes, tuple[int, bytes, str | None, bool]]] = [
    ("length", b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nx-amz-crc32: 42\r\n\r\n{\"a\":1}",
     (200, b'{"a":1}', "42", True)),
    ("chunked", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
     b"x-amz-crc32: 42\r\n\r\n4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\n\r\n", (200, b'{"a":1}', "42", True)),
    ("chunked-trailers", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n",
     (200, b"{}", None, True)),
    ("chunked-bare-lf", b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\n{}\n0\n\n", (200, b"{}", None, True)),
    ("close", b"HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", (500, b"hi", None, False)),
    ("http10-to-eof", b"HTTP/1.0 200 OK\r\n\r\n{}", (200, b"{}", None, False)),
    ("http10-keep-alive", b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}",
     (200, b"{}", None, True)),
    ("bare-lf", b"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", (200, b"{}", None, True)),
    ("no-content", b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n", (204, b"", None, True)),
    ("empty-length", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", (200, b"", None, True)),
    ("header-case", b"HTTP/1.1 400 Bad\r\ncontent-LENGTH:  3 \r\nX-AMZ-CRC32:7\r\n\r\nabc", (400, b"abc", "7", True)),
    ("two-1xx", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\n"
     b"Content-Length: 1\r\n\r\nx", (200, b"x", None, True)),
]


@pytest.mark.parametrize("raw,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cases_whole_and_byte_by_byte(raw: bytes, expected: tuple[Any, ...]) -> None:
    assert parse([raw]) == expected
    assert parse([raw[i:i + 1] for i in range(len(raw))]) == expected
    assert read_response(io.BytesIO(raw)) == expected


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CASES), st.lists(st.integers(0, 10_000), max_size=8))
def test_any_split_gives_the_same_answer(case: tuple[str, bytes, Any], cuts: list[int]) -> None:
    _, raw, expected = case
    assert parse(splits(raw, cuts)) == expected


def test_a_length_body_completes_without_waiting_for_close() -> None:
    parser = ResponseParser()
    assert not parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")
    assert parser.feed(b"cd") and parser.done and parser.body == b"abcd" and parser.keep_alive


def test_bytes_after_the_response_make_the_connection_unusable() -> None:
    assert parse([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}EXTRA"]) == (200, b"{}", None, False)
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{")
    assert parser.feed(b"}X") and parser.body == b"{}" and not parser.keep_alive


@pytest.mark.parametrize("raw,message", [
    (b"", "connection closed before a response"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "response body ended after 5 of 10 bytes"),
    (b"HTTP/1.1 200 OK\r\nContent-Le", "connection closed in the response headers"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP status line"),
    (b"garbage", "not an HTTP status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "closed in a chunked response body"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", "chunk data not followed by a line end"),
])
def test_bad_answers_raise_one_line_errors(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidHTTPResponse, match=message) as exc:
        parse([raw[i:i + 1] for i in range(len(raw))])
    assert isinstance(exc.value, ConnectionError) and "\n" not in str(exc.value)
    with pytest.raises(InvalidHTTPResponse, match=message):
        read_response(io.BytesIO(raw))


def test_an_endless_head_is_refused() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(InvalidHTTPResponse, match="head longer than"):
        for _ in range(100):
            parser.feed(b"X-Pad: " + b"a" * 8000 + b"\r\n")


def test_the_head_is_what_http_client_reads() -> None:
    head = request_head("/p", b"{}", {"Host": "h", "X-Amz-Target": "DynamoDB_20120810.GetItem"})
    assert head == (b"POST /p HTTP/1.1\r\nContent-Length: 2\r\nHost: h\r\n"
                    b"X-Amz-Target: DynamoDB_20120810.GetItem\r\n\r\n")
    msg = http.client.parse_headers(io.BytesIO(head.split(b"\r\n", 1)[1]))
    assert msg["Content-Length"] == "2" and msg["X-Amz-Target"] == "DynamoDB_20120810.GetItem"
