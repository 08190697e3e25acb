"""One HTTP/1.1 exchange for an accelerated client, with botocore's exceptions for what goes wrong.

A :class:`Connection` owns a urllib3 connection pool for one endpoint (urllib3 does connecting, TLS and
certificate checks, dropping dead idle connections); the request is written with one ``sendall`` and the
reply read by :func:`read_reply`, which keeps the headers (``ResponseMetadata.HTTPHeaders`` needs them).
Failures are raised as the exceptions botocore's ``URLLib3Session`` raises for them
(``EndpointConnectionError``, ``ConnectTimeoutError``, ``ReadTimeoutError``, ``ConnectionClosedError``,
``SSLError``), so botocore's retry handlers and the caller's ``except`` clauses see the same thing.
Redirects are never followed (botocore does not follow them for DynamoDB either).
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

from ddbkit.transport.wire import abandon, track

__all__ = ["Connection", "read_reply", "InvalidReply"]


class InvalidReply(ConnectionError):
    """The server's answer was not valid HTTP/1.1 or ended early."""


def read_reply(fp: Any) -> tuple[int, dict[str, str], bytes, bool]:
    """Read one HTTP/1.1 response from the binary file ``fp``: ``(status, headers, body, keep_alive)``.

    ``headers`` has lower-cased names in the order received (repeated headers joined with ``", "``, as
    urllib3's header dict joins them); chunked, Content-Length and read-to-close bodies; 1xx skipped.
    """
    while True:
        line = fp.readline(65537)
        if not line:
            raise InvalidReply("connection closed before a response")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise InvalidReply(f"not an HTTP status line: {line[:80]!r}")
        status = int(parts[1])
        keep_alive = parts[0] == b"HTTP/1.1"
        headers: dict[str, str] = {}
        while True:
            line = fp.readline(65537)
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise InvalidReply("connection closed in the response headers")
            raw_name, _, raw_value = line.partition(b":")
            name = raw_name.strip().lower().decode("latin-1")
            value = raw_value.strip().decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if status >= 200:
            break
    connection = headers.get("connection", "").lower()
    if connection:
        keep_alive = connection == "keep-alive" or (keep_alive and connection != "close")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        pieces = []
        while True:
            size = int(fp.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while fp.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            pieces.append(fp.read(size))
            fp.readline(65537)
        body = b"".join(pieces)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        body = fp.read(length)
        if len(body) != length:
            raise InvalidReply(f"response body ended after {len(body)} of {length} bytes")
    elif status in (204, 304):
        body = b""
    else:
        body, keep_alive = fp.read(), False
    return status, headers, body, keep_alive


class Connection:
    """A keep-alive pool to ``endpoint_url`` with the client's timeouts, pool size and TLS verification."""

    def __init__(self, endpoint_url: str, *, connect_timeout: float | None, read_timeout: float | None,
                 max_pool: int, verify: Any) -> None:
        import urllib3

        self.endpoint_url = endpoint_url
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        kwargs: dict[str, Any] = {"maxsize": max(1, max_pool), "block": False, "retries": False,
                                  "timeout": urllib3.Timeout(connect=connect_timeout, read=read_timeout)}
        if endpoint_url.startswith("https:"):
            if verify is False:
                kwargs.update(cert_reqs="CERT_NONE")
            else:
                kwargs.update(cert_reqs="CERT_REQUIRED", ca_certs=verify if isinstance(verify, str) else None)
        self._kwargs = kwargs
        self._pool: Any = urllib3.connection_from_url(endpoint_url, **kwargs)
        track(self)

    def exchange(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """POST ``body`` to ``path``: ``(status, headers, body)``, or botocore's exception for the failure."""
        from botocore import exceptions as bx
        from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, SSLError

        pool = self._pool
        conn = pool._get_conn()
        reusable = False
        try:
            try:
                fresh = conn.sock is None
                if fresh:
                    conn.connect()
                sock: Any = conn.sock
                if fresh:
                    sock.settimeout(self._read_timeout)  # connect used the connect timeout
            except (SSLError, ssl.SSLError) as err:
                raise bx.SSLError(endpoint_url=self.endpoint_url, error=err) from err
            except (NewConnectionError, socket.gaierror) as err:  # before its base class ConnectTimeoutError
                raise bx.EndpointConnectionError(endpoint_url=self.endpoint_url, error=err) from err
            except ConnectTimeoutError as err:
                raise bx.ConnectTimeoutError(endpoint_url=self.endpoint_url, error=err) from err
            except (OSError, HTTPError) as err:
                raise bx.EndpointConnectionError(endpoint_url=self.endpoint_url, error=err) from err
            head = "".join([f"POST {path} HTTP/1.1\r\nContent-Length: {len(body)}\r\n",
                            *[f"{k}: {v}\r\n" for k, v in headers.items()], "\r\n"])
            try:
                sock.sendall(head.encode("latin-1") + body)
                fp = sock.makefile("rb")
                try:
                    status, reply_headers, data, reusable = read_reply(fp)
                finally:
                    fp.close()
            except TimeoutError as err:
                raise bx.ReadTimeoutError(endpoint_url=self.endpoint_url, error=err) from err
            except ssl.SSLError as err:
                raise bx.SSLError(endpoint_url=self.endpoint_url, error=err) from err
            except (InvalidReply, OSError, ValueError) as err:
                raise bx.ConnectionClosedError(endpoint_url=self.endpoint_url, error=err) from err
            return status, reply_headers, data
        finally:
            if not reusable:
                conn.close()
            pool._put_conn(conn)

    def _forked(self) -> None:
        # in a forked child: forget (never close: the parent still uses them) the inherited connections
        import urllib3

        abandon(self._pool)
        self._pool = urllib3.connection_from_url(self.endpoint_url, **self._kwargs)

    def close(self) -> None:
        self._pool.close()
