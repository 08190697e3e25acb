"""Opaque pagination cursors for query and scan.

A cursor is DynamoDB's ``LastEvaluatedKey`` as a URL-safe token you can hand to an API client.

With a secret (``cursor_secret=`` or the ``DDBKIT_CURSOR_SECRET`` environment variable, comma-separated for
rotation) a cursor is **encrypted and authenticated** with AES-256-GCM from the ``cryptography`` package
(the ``crypto`` extra): a client can neither read it (a filtered scan's cursor no longer shows the item the
filter hid), forge it nor alter it. The ciphertext is bound (as GCM associated data) to the table, index,
key condition, account and region it was issued for, carries an expiry, and names the key it was made with
(a 4-byte key id), so secrets rotate: the first secret encrypts, every listed secret still decrypts. A
secret must be at least 32 bytes. A secret given without ``cryptography`` installed is an error naming the
extra: ddbkit never falls back to a weaker cursor.

Without a secret, cursors are plain base64 JSON (readable and forgeable, like boto3's pagination token);
the first such cursor a process issues logs a WARNING and raises a :class:`CursorSecurityWarning`. A plain
cursor carries its binding (:class:`CursorScope`: digests of the table, the index and the key condition with
its values, and the operation, query or scan), checked before any request, so an honest client's mistake
(a cursor replayed on another table, index, partition, sort-key condition or from a query into a scan) is a
:class:`CursorError` naming the binding that differs; a forger can rebuild a binding, which is why plain
cursors are called forgeable. Every cursor, plain or encrypted, is also checked against the query it
resumes: the key attributes of the table/index, the queried partition (for string key conditions too), and
each value's type (``S`` a string, ``N`` a number string, ``B`` bytes, matching the table's declared types),
so a crafted cursor never widens a query nor reaches the server malformed. An empty cursor is refused
(``None`` asks for the first page).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from ddbkit.errors import CursorError, DdbkitError

__all__ = ["encode_cursor", "decode_cursor", "CursorCodec", "CursorScope", "CursorSecurityWarning", "CursorSecret",
           "MIN_SECRET_BYTES", "DEFAULT_TTL"]

log = logging.getLogger("ddbkit.cursor")

_VERSION_UNBOUND = "1"  # ddbkit's plain cursors before bindings: refused (re-run the query from its first page)
_VERSION_PLAIN = "4"
_VERSION_HMAC = "2"  # ddbkit 0.1 signed cursors: refused (re-run the query from its first page)
_VERSION_AEAD = "3"
_MAX_TOKEN = 8192
MIN_SECRET_BYTES = 32
DEFAULT_TTL = 24 * 3600.0
_KID = 4
_NONCE = 12
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

#: a secret, or several (the first encrypts, all decrypt), or None for plain cursors
CursorSecret: TypeAlias = "str | bytes | Sequence[str | bytes] | None"


@dataclass(frozen=True)
class CursorScope:
    """What a cursor is bound to: the table, the index (None: the table itself), the operation (``"query"``
    or ``"scan"``) and, for a query, its key condition with the placeholders resolved (values included)."""

    table: str
    index: str | None = None
    operation: str = "scan"
    condition: str = ""

    def __str__(self) -> str:  # the associated data of an encrypted cursor (unchanged since ddbkit 0.2)
        base = f"{self.table}/{self.index or ''}"
        return base if self.operation == "scan" else f"{base}?{self.condition}"

    def binding(self) -> dict[str, str]:
        """What a plain cursor carries: digests (no names or values in clear) and the operation."""
        return {"t": _digest(self.table), "i": _digest(self.index or ""), "o": self.operation,
                "c": _digest(self.condition)}


# the order bindings are checked in, and what a mismatch says (never the values)
_BINDINGS = {
    "t": "another table",
    "i": "another index (or the table rather than an index)",
    "o": "another operation (a query cursor cannot resume a scan, nor a scan cursor a query)",
    "c": "another key condition (partition value or sort key condition)",
    "s": "another scope",
}


def _digest(text: str) -> str:
    return _b64(hashlib.sha256(b"ddbkit-cursor-binding\x00" + text.encode("utf-8")).digest()[:12])


def _binding(scope: str | CursorScope) -> dict[str, str]:
    return scope.binding() if isinstance(scope, CursorScope) else {"s": _digest(scope)}


class CursorSecurityWarning(UserWarning):
    """Cursors are issued without a secret: readable and forgeable by API clients."""


_warned_plain = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def wire_json(key: Mapping[str, Any]) -> bytes:
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
        if set(data) == {"$b"} and isinstance(data["$b"], str):
            try:
                return base64.b64decode(data["$b"], validate=True)
            except ValueError:
                raise CursorError("cursor is not a valid token", "cursor", "cursor.format") from None
        return {k: _from_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_from_json(v) for v in data]
    return data


def _secrets(secret: CursorSecret) -> list[bytes]:
    if secret is None:
        return []
    items: Sequence[str | bytes] = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    out = []
    for i, s in enumerate(items):
        if not isinstance(s, (str, bytes)):
            raise CursorError(f"cursor secret #{i} must be str or bytes, got {type(s).__name__}",
                              "cursor_secret", "cursor.secret")
        raw = s.encode("utf-8") if isinstance(s, str) else bytes(s)
        if len(raw) < MIN_SECRET_BYTES:
            raise CursorError(f"cursor secret #{i} is {len(raw)} bytes; at least {MIN_SECRET_BYTES} are required "
                              "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')",
                              "cursor_secret", "cursor.secret")
        out.append(raw)
    if secret is not None and not out:
        raise CursorError("cursor_secret is an empty list", "cursor_secret", "cursor.secret")
    return out


def _check_key(key: Any, types: Mapping[str, str] | None) -> dict[str, Any]:
    """``key`` is a DynamoDB key: ``{name: {"S"|"N"|"B": value}}`` with each value of its type."""
    if not isinstance(key, dict) or not key:
        raise CursorError("cursor does not hold a DynamoDB key", "cursor", "cursor.format")
    for name, av in key.items():
        if not isinstance(name, str) or not isinstance(av, dict) or len(av) != 1:
            raise CursorError("cursor does not hold a DynamoDB key", "cursor", "cursor.format")
        (t, v), = av.items()
        ok = ((t == "S" and isinstance(v, str) and 0 < len(v))
              or (t == "N" and isinstance(v, str) and len(v) <= 64 and bool(_NUMBER.match(v)))
              or (t == "B" and isinstance(v, bytes) and 0 < len(v)))
        if not ok:
            raise CursorError(f"cursor key attribute {name!r} is not a valid key value of type S, N or B",
                              f"cursor.{name}", "cursor.type")
        declared = (types or {}).get(name)
        if declared and declared != t:
            raise CursorError(f"cursor key attribute {name!r} is {t}, the table declares {declared}",
                              f"cursor.{name}", "cursor.type")
    return key


class CursorCodec:
    """Encodes/decodes cursors for one table.

    ``secret`` is one secret or a list (first encrypts, all decrypt: rotation); None reads
    ``DDBKIT_CURSOR_SECRET`` when ``from_env`` (comma-separated), else cursors are plain. ``ttl`` is how long an
    encrypted cursor stays valid (seconds). ``account`` and ``region`` are bound into every encrypted cursor
    (``region`` defaults to ``AWS_REGION``/``AWS_DEFAULT_REGION`` when ``from_env``; pass ``account`` to bind it).
    Pass a codec as a table's ``cursor_secret`` to set these.
    """

    def __init__(self, secret: CursorSecret = None, *, ttl: float = DEFAULT_TTL, account: str | None = None,
                 region: str | None = None, from_env: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        if secret is None and from_env and os.environ.get("DDBKIT_CURSOR_SECRET"):
            secret = [s for s in os.environ["DDBKIT_CURSOR_SECRET"].split(",") if s]
        raw = _secrets(secret)
        if ttl <= 0:
            raise CursorError("cursor ttl must be positive seconds", "cursor_ttl", "cursor.ttl")
        self.ttl = float(ttl)
        self.account = account
        self.region = region if region is not None or not from_env else (
            os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
        self._clock = clock
        self._keys: list[tuple[bytes, Any]] = []
        if raw:
            try:
                from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            except ImportError as err:
                raise DdbkitError("a cursor secret encrypts cursors with AES-GCM from the 'cryptography' package, "
                                  "which is not installed: pip install 'ddbkit[crypto]' (ddbkit does not fall back "
                                  "to unencrypted cursors)") from err
            for s in raw:
                kid = hashlib.sha256(b"ddbkit-cursor-kid\x00" + s).digest()[:_KID]
                aes_key = hashlib.sha256(b"ddbkit-cursor-key\x00" + s).digest()
                self._keys.append((kid, AESGCM(aes_key)))

    @property
    def signed(self) -> bool:
        """True when cursors are encrypted and authenticated."""
        return bool(self._keys)

    @property
    def key_ids(self) -> list[str]:
        """Hex key ids of the accepted secrets (the first one encrypts)."""
        return [kid.hex() for kid, _ in self._keys]

    def _aad(self, kid: bytes, scope: str) -> bytes:
        bound = json.dumps({"s": scope, "a": self.account or "", "r": self.region or ""}, sort_keys=True,
                           separators=(",", ":"))
        return b"ddbkit-cursor/3\x00" + kid + bound.encode("utf-8")

    def encode(self, key: Mapping[str, Any] | None, scope: str | CursorScope = "") -> str | None:
        """Token for ``key`` (None when there is no next page). ``scope`` (table/index/operation/key
        condition) is bound in: as associated data when encrypted, as digests in a plain cursor."""
        if not key:
            return None
        body = wire_json(key)
        if not self._keys:
            _warn_plain()
            bound = json.dumps({"k": json.loads(body), "b": _binding(scope)}, separators=(",", ":"),
                               sort_keys=True)
            return _VERSION_PLAIN + _b64(bound.encode("utf-8"))
        kid, aead = self._keys[0]
        nonce = os.urandom(_NONCE)
        plain = json.dumps({"k": json.loads(body), "x": int(self._clock() + self.ttl)},
                           separators=(",", ":")).encode("utf-8")
        return _VERSION_AEAD + _b64(kid + nonce + aead.encrypt(nonce, plain, self._aad(kid, str(scope))))

    def decode(self, token: str, scope: str | CursorScope = "", key_names: Sequence[str] = (),
               partition: Mapping[str, Mapping[str, Any]] | None = None,
               types: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The ``ExclusiveStartKey`` in ``token``.

        Raises :class:`CursorError` when the token is empty or malformed, plain where a secret is set,
        altered, issued for another table/index/operation/key condition/account/region (``scope``), expired,
        made with a secret no longer accepted, lacks the key attributes ``key_names``, names another
        partition than ``partition`` (``{attr: AttributeValue}``) or holds a value not of its key type
        (``types``).
        """
        if isinstance(token, str) and not token:
            raise CursorError("cursor is empty: pass None (or omit it) for the first page, a token from "
                              "page.cursor for the next", "cursor", "cursor.format")
        if not isinstance(token, str) or len(token) > _MAX_TOKEN:
            raise CursorError("cursor must be a non-empty string from a previous page", "cursor", "cursor.format")
        version, payload = token[0], token[1:]
        try:
            raw = _unb64(payload)
        except (ValueError, TypeError):
            raise CursorError("cursor is not a valid token", "cursor", "cursor.format") from None
        if _b64(raw) != payload:  # only the canonical encoding: no two tokens for one cursor
            raise CursorError("cursor is not a valid token", "cursor", "cursor.format")
        if self._keys:
            if version != _VERSION_AEAD or len(raw) < _KID + _NONCE + 16:
                raise CursorError("cursor is not encrypted by this service", "cursor", "cursor.signature")
            kid, nonce, sealed = raw[:_KID], raw[_KID:_KID + _NONCE], raw[_KID + _NONCE:]
            aead = next((a for k, a in self._keys if k == kid), None)
            if aead is None:
                raise CursorError(f"cursor was made with key id {kid.hex()}, which this service no longer accepts",
                                  "cursor", "cursor.key")
            try:
                body = aead.decrypt(nonce, sealed, self._aad(kid, str(scope)))
            except Exception:  # cryptography's InvalidTag: altered, or issued for another query
                raise CursorError("cursor signature does not match: it was altered or issued for another table, "
                                  "index, operation (query or scan), key condition, account or region", "cursor",
                                  "cursor.signature") from None
            try:
                data = json.loads(body.decode("utf-8"))
                expiry, wire = data["x"], data["k"]
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                raise CursorError("cursor is not a valid token", "cursor", "cursor.format") from None
            if not isinstance(expiry, int) or self._clock() > expiry:
                raise CursorError("cursor has expired: run the query again from its first page", "cursor",
                                  "cursor.expired")
            key = _from_json(wire)
        else:
            if version in (_VERSION_AEAD, _VERSION_HMAC):
                raise CursorError("encrypted cursor given to a table without a cursor secret", "cursor",
                                  "cursor.signature")
            if version == _VERSION_UNBOUND:
                raise CursorError("cursor carries no binding (an older ddbkit made it): run the query again from "
                                  "its first page", "cursor", "cursor.format")
            if version != _VERSION_PLAIN:
                raise CursorError("cursor is not a valid token", "cursor", "cursor.format")
            try:
                data = json.loads(raw.decode("utf-8"))
                wire, bound = data["k"], data["b"]
            except (ValueError, UnicodeDecodeError, KeyError, TypeError):
                raise CursorError("cursor is not a valid token", "cursor", "cursor.format") from None
            if not isinstance(bound, dict):
                raise CursorError("cursor is not a valid token", "cursor", "cursor.format")
            expected = _binding(scope)
            for field in _BINDINGS:
                if field in expected or field in bound:
                    if bound.get(field) != expected.get(field):
                        raise CursorError(f"cursor was issued for {_BINDINGS[field]}: run this query from its "
                                          "first page", "cursor", "cursor.scope")
            key = _from_json(wire)
        key = _check_key(key, types)
        missing = [n for n in key_names if n not in key]
        if missing:
            raise CursorError(f"cursor lacks key attribute(s) {missing}: it belongs to another table or index",
                              "cursor", "cursor.scope")
        if key_names and set(key) - set(key_names):
            raise CursorError(f"cursor holds attributes {sorted(set(key) - set(key_names))} that are not keys of "
                              "this table or index", "cursor", "cursor.scope")
        for name, av in (partition or {}).items():
            if key.get(name) != _normalise(av):
                raise CursorError(f"cursor belongs to another partition than {name} = the queried value",
                                  "cursor", "cursor.partition")
        return key


def _warn_plain() -> None:
    global _warned_plain
    if _warned_plain:
        return
    _warned_plain = True
    msg = ("ddbkit is issuing UNENCRYPTED pagination cursors: API clients can read the last key of each page "
           "and craft cursors. Set cursor_secret= or DDBKIT_CURSOR_SECRET (>= 32 bytes, needs ddbkit[crypto]).")
    log.warning(msg)
    warnings.warn(msg, CursorSecurityWarning, stacklevel=4)


def _normalise(av: Mapping[str, Any]) -> Any:
    return _from_json(json.loads(wire_json(av)))


def encode_cursor(key: Mapping[str, Any] | None, secret: CursorSecret = None,
                  scope: str | CursorScope = "") -> str | None:
    """Encode a LastEvaluatedKey (see :class:`CursorCodec`)."""
    return CursorCodec(secret).encode(key, scope)


def decode_cursor(token: str, secret: CursorSecret = None, scope: str | CursorScope = "",
                  key_names: Sequence[str] = ()) -> dict[str, Any]:
    """Decode a cursor (see :meth:`CursorCodec.decode`)."""
    return CursorCodec(secret).decode(token, scope, key_names)
