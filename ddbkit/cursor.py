"""Opaque pagination cursors for query and scan.

A cursor is DynamoDB's ``LastEvaluatedKey`` as a URL-safe token you can hand to an API client. With a
``secret`` the token is HMAC-SHA256 signed, so a client can neither forge nor alter it (boto3's
pagination token is plain base64 JSON). Decoding also checks the key is a key of the query being
resumed: a token from another partition, table or index is refused, so a cursor can never widen a
query to items outside the partition it was issued for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ddbkit.errors import CursorError

__all__ = ["encode_cursor", "decode_cursor", "CursorCodec"]

_VERSION_PLAIN = "1"
_VERSION_SIGNED = "2"
_MAX_TOKEN = 8192


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _wire_json(key: Mapping[str, Any]) -> bytes:
    # B values are bytes with botocore and base64 text on raw transports: store them as text
    def norm(av: Any) -> Any:
        if isinstance(av, dict):
            return {k: norm(v) for k, v in av.items()}
        if isinstance(av, list):
            return [norm(v) for v in av]
        if isinstance(av, (bytes, bytearray)):
            return {"$b": base64.b64encode(av).decode("ascii")}
        return av

    return json.dumps(norm(key), separators=(",", ":"), sort_keys=True).encode("utf-8")


def _from_json(data: Any) -> Any:
    if isinstance(data, dict):
        if set(data) == {"$b"}:
            return base64.b64decode(data["$b"])
        return {k: _from_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_from_json(v) for v in data]
    return data


class CursorCodec:
    """Encodes/decodes cursors for one table, optionally signed with ``secret``."""

    def __init__(self, secret: str | bytes | None = None) -> None:
        self._secret = secret.encode("utf-8") if isinstance(secret, str) else secret

    @property
    def signed(self) -> bool:
        return self._secret is not None

    def _mac(self, scope: str, body: bytes) -> bytes:
        assert self._secret is not None
        return hmac.new(self._secret, scope.encode("utf-8") + b"\x00" + body, hashlib.sha256).digest()[:16]

    def encode(self, key: Mapping[str, Any] | None, scope: str = "") -> str | None:
        """Token for ``key`` (None when there is no next page). ``scope`` (table/index) is signed in."""
        if not key:
            return None
        body = _wire_json(key)
        if self._secret is None:
            return _VERSION_PLAIN + _b64(body)
        return _VERSION_SIGNED + _b64(self._mac(scope, body) + body)

    def decode(self, token: str, scope: str = "", key_names: Sequence[str] = (),
               partition: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """The ``ExclusiveStartKey`` in ``token``.

        Raises :class:`CursorError` when the token is malformed, unsigned where a signature is required,
        tampered with, issued for another table/index (``scope``), lacks the key attributes
        ``key_names``, or names another partition than ``partition`` (``{attr: AttributeValue}``).
        """
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
            raise CursorError("cursor must be a non-empty string from a previous page", "cursor", "cursor.format")
        version, payload = token[0], token[1:]
        try:
            raw = _unb64(payload)
        except (ValueError, TypeError):
            raise CursorError("cursor is not a valid token", "cursor", "cursor.format") from None
        if self._secret is not None:
            if version != _VERSION_SIGNED or len(raw) < 16:
                raise CursorError("cursor is not signed by this service", "cursor", "cursor.signature")
            mac, body = raw[:16], raw[16:]
            if not hmac.compare_digest(mac, self._mac(scope, body)):
                raise CursorError("cursor signature does not match: it was altered or issued for another query",
                                  "cursor", "cursor.signature")
        else:
            if version == _VERSION_SIGNED:
                raise CursorError("signed cursor given to a table without a cursor secret", "cursor", "cursor.signature")
            if version != _VERSION_PLAIN:
                raise CursorError("cursor is not a valid token", "cursor", "cursor.format")
            body = raw
        try:
            key = _from_json(json.loads(body.decode("utf-8")))
        except (ValueError, UnicodeDecodeError):
            raise CursorError("cursor is not a valid token", "cursor", "cursor.format") from None
        if not isinstance(key, dict) or not key or not all(
            isinstance(k, str) and isinstance(v, dict) and len(v) == 1 and next(iter(v)) in ("S", "N", "B")
            for k, v in key.items()
        ):
            raise CursorError("cursor does not hold a DynamoDB key", "cursor", "cursor.format")
        missing = [n for n in key_names if n not in key]
        if missing:
            raise CursorError(f"cursor lacks key attribute(s) {missing}: it belongs to another table or index",
                              "cursor", "cursor.scope")
        for name, av in (partition or {}).items():
            if key.get(name) != _normalise(av):
                raise CursorError(f"cursor belongs to another partition than {name} = the queried value",
                                  "cursor", "cursor.partition")
        return key


def _normalise(av: Mapping[str, Any]) -> Any:
    return _from_json(json.loads(_wire_json(av)))


_DEFAULT = CursorCodec()


def encode_cursor(key: Mapping[str, Any] | None, secret: str | bytes | None = None, scope: str = "") -> str | None:
    """Encode a LastEvaluatedKey (see :class:`CursorCodec`)."""
    return (CursorCodec(secret) if secret is not None else _DEFAULT).encode(key, scope)


def decode_cursor(token: str, secret: str | bytes | None = None, scope: str = "",
                  key_names: Sequence[str] = ()) -> dict[str, Any]:
    """Decode a cursor (see :meth:`CursorCodec.decode`)."""
    return (CursorCodec(secret) if secret is not None else _DEFAULT).decode(token, scope, key_names)
