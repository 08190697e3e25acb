"""A table's runtime settings in environment variables: build a Table with no YAML and no pydantic.

``ddbkit bind`` (``ddbkit_infra.iam.binds``) writes these variables for each table a component binds to, and
:meth:`ddbkit.Table.from_env` / :meth:`ddbkit.aio.AsyncTable.from_env` read them, so a Lambda handler gets its
table's name, key schema, indexes and TTL attribute without loading the component file (the config stack,
pydantic + PyYAML, costs ~170 ms of cold start; docs/performance.md). ``PREFIX`` is the table component's
name upper-cased, non-alphanumerics as ``_`` (``user-sessions`` -> ``USER_SESSIONS``):

==========================  ======================================================  ==========================
variable                    example                                                 meaning
==========================  ======================================================  ==========================
``PREFIX_TABLE``            ``UserSessions``                                        table name (required)
``PREFIX_KEY``              ``sessionId`` or ``pk,sk``                              partition key[,sort key]
``PREFIX_KEY_TYPES``        ``sessionId:S,userId:S,createdAt:N``                    type (S/N/B) of each key
                                                                                    attribute, indexes' too
``PREFIX_INDEX_KEYS``       ``UserIdIndex:userId,createdAt;StatusIndex:status``     each GSI/LSI and its key
``PREFIX_INDEXES``          ``UserIdIndex,StatusIndex``                             index names only
``PREFIX_TTL``              ``expiresAt``                                           TTL attribute (if enabled)
``PREFIX_TABLE_ARN``        ``arn:aws:dynamodb:us-east-1:111122223333:table/...``   when account+region known
``PREFIX_STREAM_ARN``       ``arn:aws:dynamodb:...:table/UserSessions/stream/2026``  the live stream only
``PREFIX_DAX_ENDPOINT``     ``dax://my-cluster.abc.dax-clusters...``                DAX cluster endpoint
==========================  ======================================================  ==========================

Values are real or absent: an ARN that is not known (no account, or a stream whose label is only known once
the table exists) is left out, never written as a ``${AWS::...}`` placeholder or a ``/stream/*`` wildcard.
Without ``PREFIX_KEY`` the key schema is read once with DescribeTable on first use (one extra call and the
``dynamodb:DescribeTable`` permission, which every bind grants). This module imports nothing outside the
standard library and ``ddbkit.core.keys``/``ddbkit.errors``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ddbkit.errors import ClientValidationError
from ddbkit.core.keys import KeySchema

__all__ = ["EnvConfigError", "TableEnv", "env_prefix", "read_table_env", "table_env_vars"]

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")  # attribute/index names in this format (no , ; : =)
_INDEX_NAME = re.compile(r"^[A-Za-z0-9_.\-]{3,255}$")
_TYPES = ("S", "N", "B")


class EnvConfigError(ClientValidationError):
    """An environment variable for :meth:`Table.from_env` is missing or malformed (``path`` names it)."""


def env_prefix(component: str) -> str:
    """``user-sessions`` -> ``USER_SESSIONS`` (upper case, runs of non-alphanumerics as one ``_``)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", component).strip("_").upper()


@dataclass(frozen=True)
class TableEnv:
    """What the environment says about one table (see the module docstring for the variables)."""

    prefix: str
    table_name: str
    key: KeySchema | None = None
    ttl_attribute: str | None = None
    index_names: tuple[str, ...] = ()
    table_arn: str | None = None
    stream_arn: str | None = None
    dax_endpoint: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def region(self) -> str | None:
        """The table's region from ``PREFIX_TABLE_ARN``, if given."""
        if not self.table_arn:
            return None
        parts = self.table_arn.split(":")
        return parts[3] or None if len(parts) > 3 else None


def _check_name(value: str, var: str, what: str, pattern: re.Pattern[str] = _NAME) -> str:
    if not pattern.match(value):
        raise EnvConfigError(f"{what} {value!r} is not a valid name (letters, digits, _ . -)", var, "env.format")
    return value


def _key_pair(text: str, var: str) -> tuple[str, str | None]:
    parts = [p.strip() for p in text.split(",")]
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise EnvConfigError(f"{text!r} must be 'partitionKey' or 'partitionKey,sortKey'", var, "env.format")
    h = _check_name(parts[0], var, "key attribute")
    r = _check_name(parts[1], var, "key attribute") if len(parts) == 2 else None
    return h, r


def _types(text: str, var: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        name, sep, typ = entry.rpartition(":")
        if not sep or typ not in _TYPES:
            raise EnvConfigError(f"{entry!r} must be 'attribute:S', ':N' or ':B'", var, "env.format")
        out[_check_name(name, var, "attribute")] = typ
    return out


def _index_keys(text: str, var: str) -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = {}
    for entry in filter(None, (e.strip() for e in text.split(";"))):
        name, sep, keys = entry.partition(":")
        if not sep:
            raise EnvConfigError(f"{entry!r} must be 'IndexName:partitionKey[,sortKey]'", var, "env.format")
        name = _check_name(name.strip(), var, "index name", _INDEX_NAME)
        if name in out:
            raise EnvConfigError(f"index {name!r} is listed twice", var, "env.format")
        out[name] = _key_pair(keys, var)
    return out


def read_table_env(prefix: str, environ: Mapping[str, str] | None = None) -> TableEnv:
    """Read ``PREFIX_*`` from ``environ`` (default ``os.environ``); ``prefix`` may be a component name.

    Raises :class:`EnvConfigError` naming the variable when ``PREFIX_TABLE`` is missing or a value does not
    parse, before anything is sent.
    """
    env = os.environ if environ is None else environ
    p = env_prefix(prefix)
    if not p:
        raise EnvConfigError(f"empty prefix {prefix!r}", "prefix", "env.prefix")

    def get(suffix: str) -> str | None:
        value = env.get(f"{p}_{suffix}")
        return value.strip() or None if value is not None else None

    name = get("TABLE") or get("TABLE_NAME")
    if name is None:
        raise EnvConfigError(f"not set; `ddbkit bind` emits it (or set it to the table name). Looked for "
                             f"{p}_TABLE and {p}_TABLE_NAME", f"{p}_TABLE", "env.missing")
    if not 3 <= len(name) <= 255 or not _INDEX_NAME.match(name):
        raise EnvConfigError(f"table name {name!r} must be 3-255 characters of [a-zA-Z0-9_.-]", f"{p}_TABLE",
                             "env.format")
    key_text, types_text, idx_text = get("KEY"), get("KEY_TYPES"), get("INDEX_KEYS")
    key: KeySchema | None = None
    if key_text is not None:
        h, r = _key_pair(key_text, f"{p}_KEY")
        types = _types(types_text, f"{p}_KEY_TYPES") if types_text else {}
        indexes = _index_keys(idx_text, f"{p}_INDEX_KEYS") if idx_text else {}
        # complete: the env lists every index (bind writes INDEX_KEYS whenever the table has one), so an
        # unknown index name is refused client-side instead of triggering a DescribeTable.
        key = KeySchema(h, r, types, indexes, complete=True)
    elif idx_text or types_text:
        raise EnvConfigError(f"{p}_INDEX_KEYS/{p}_KEY_TYPES given without the table's key", f"{p}_KEY",
                             "env.missing")
    ttl = get("TTL")
    if ttl is not None:
        _check_name(ttl, f"{p}_TTL", "TTL attribute")
    names = tuple(n.strip() for n in (get("INDEXES") or "").split(",") if n.strip())
    arn, stream = get("TABLE_ARN"), get("STREAM_ARN")
    for var, value in ((f"{p}_TABLE_ARN", arn), (f"{p}_STREAM_ARN", stream)):
        if value is not None and ("${" in value or value.endswith("/*") or not value.startswith("arn:")):
            raise EnvConfigError(f"{value!r} is not a real ARN (placeholder or wildcard); leave it unset",
                                 var, "env.format")
    variables = {k: v for k, v in env.items() if k.startswith(f"{p}_")}
    return TableEnv(p, name, key, ttl, names or tuple(key.indexes if key else ()), arn, stream,
                    get("DAX_ENDPOINT"), variables)


def table_env_vars(prefix: str, table_name: str, hash_key: str, range_key: str | None = None, *,
                   types: Mapping[str, str] | None = None,
                   indexes: Mapping[str, tuple[str, str | None]] | None = None,
                   ttl_attribute: str | None = None) -> dict[str, str]:
    """The schema variables for one table (``_TABLE``, ``_KEY``, ``_KEY_TYPES``, ``_INDEX_KEYS``,
    ``_INDEXES``, ``_TTL``), in the format :func:`read_table_env` reads. ARNs are the caller's to add."""
    p = env_prefix(prefix)
    out = {f"{p}_TABLE": table_name, f"{p}_KEY": hash_key if range_key is None else f"{hash_key},{range_key}"}
    if types:
        out[f"{p}_KEY_TYPES"] = ",".join(f"{k}:{v}" for k, v in types.items())
    if indexes:
        out[f"{p}_INDEXES"] = ",".join(indexes)
        out[f"{p}_INDEX_KEYS"] = ";".join(f"{n}:{h}" if r is None else f"{n}:{h},{r}"
                                          for n, (h, r) in indexes.items())
    if ttl_attribute:
        out[f"{p}_TTL"] = ttl_attribute
    return out
