"""What botocore and aiobotocore log and chain during ddbkit's calls, without item values or proxy passwords.

botocore's own DEBUG records of a call carry the request body (``botocore.endpoint``: "Making request ...
with params"), the reply body (``botocore.parsers``: "Response body") and, for a failed send, the HTTP
library's exception with its traceback (``botocore.httpsession`` / ``botocore.endpoint``), which for a proxy
error quotes the proxy URL, ``user:password@`` included (aiohttp's ``ClientHttpProxyError``).
:func:`scrubbed` marks the calls ddbkit makes through botocore/aioboto3; a filter on those loggers then
withholds the bodies and redacts credentials from the records made *during* those calls only (anyone's own
boto3 calls log as before). :func:`scrubbed_cause` is the cause ddbkit chains to its
:class:`~ddbkit.errors.ConnectionFailed`: the library exception's type and redacted text, not the exception
itself (whose ``__context__`` chain and attributes may quote the proxy URL).
"""

from __future__ import annotations

import contextvars
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from ddbkit.errors import redact

__all__ = ["scrubbed", "scrubbed_cause", "TransportError"]

_IN_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar("ddbkit_in_botocore_call", default=False)
# aiobotocore logs through botocore's module loggers (it imports them)
_LOGGERS = ("botocore.endpoint", "botocore.parsers", "botocore.httpsession", "botocore.hooks", "botocore.auth",
            "urllib3.connectionpool", "urllib3.poolmanager")
_WITHHELD = {
    "Making request for": "Making request for %s (params withheld by ddbkit: they may hold item values)",
    "Response body": "Response body withheld by ddbkit (it may hold item values)",
}
_installed = False


class _Scrub(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not _IN_CALL.get():
            return True
        msg = str(record.msg)
        for start, replacement in _WITHHELD.items():
            if msg.startswith(start):
                args = record.args if isinstance(record.args, tuple) else ()
                record.msg, record.args = replacement, (args[:1] if "%s" in replacement else ())
                break
        else:
            record.msg, record.args = redact(record.getMessage()), ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact("".join(traceback.format_exception(record.exc_info[1]))).rstrip("\n")
            record.exc_info = None
        return True


def _install() -> None:
    global _installed
    if not _installed:
        scrub = _Scrub()
        for name in _LOGGERS:
            logging.getLogger(name).addFilter(scrub)
        _installed = True


@contextmanager
def scrubbed() -> Iterator[None]:
    """Records botocore (and aiobotocore, urllib3) make inside this block are scrubbed (see the module doc)."""
    _install()
    token = _IN_CALL.set(True)
    try:
        yield
    finally:
        _IN_CALL.reset(token)


class TransportError(ConnectionError):
    """The HTTP library's error behind a :class:`~ddbkit.errors.ConnectionFailed`: its type name and its
    text with credentials redacted (the original, whose chain may quote a proxy URL, is not kept)."""

    def __init__(self, error: BaseException) -> None:
        self.type_name = f"{type(error).__module__}.{type(error).__qualname__}"
        super().__init__(f"{self.type_name}: {redact(str(error))}")


def scrubbed_cause(error: BaseException) -> TransportError:
    """The cause to chain (``raise failure from scrubbed_cause(err)``, outside the ``except`` block so no
    ``__context__`` keeps the original)."""
    return TransportError(error)
