"""Cursor hardening (issue 16): encrypted + authenticated (AES-GCM), scoped, expiring, rotatable, type-checked.

Each test here failed on the HMAC/plain codec it replaces (see the commit that added this file).
"""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
from typing import Any

import pytest
from fakes import FakeDynamo

import ddbkit.core.cursor as cursor_mod
from ddbkit import Key, Table
from ddbkit.core.codec import marshal_item
from ddbkit.core.cursor import CursorCodec, CursorSecurityWarning
from ddbkit.errors import CursorError, DdbkitError

SECRET = "k" * 32
OLD = "o" * 32
KEY = marshal_item({"pk": "tenant-1", "sk": "secret-order-42"})


def _paged_table(name: str, secret: Any, **kw: Any) -> tuple[Table, FakeDynamo]:
    fake = FakeDynamo(table=name, keys=("pk", "sk"))
    fake._Query = lambda req: {"Items": [], "Count": 0, "LastEvaluatedKey": KEY}  # type: ignore[attr-defined]
    fake._Scan = lambda req: {"Items": [], "Count": 0, "LastEvaluatedKey": KEY}  # type: ignore[attr-defined]
    return Table(name, key=("pk", "sk"), transport=fake, cursor_secret=secret, **kw), fake


def test_cursor_from_one_table_is_refused_by_another_with_the_same_secret() -> None:
    tenant, _ = _paged_table("TenantData", SECRET)
    other, fake = _paged_table("OtherTable", SECRET)
    token = tenant.query({"pk": "tenant-1"}).cursor
    assert token
    with pytest.raises(CursorError, match="another table"):
        other.query({"pk": "tenant-1"}, cursor=token)
    assert not [c for c in fake.calls if c[0] == "Query"]  # refused before anything was sent


def test_encrypted_cursor_does_not_reveal_the_key() -> None:
    token = CursorCodec(SECRET).encode(KEY, "T/")
    assert token and token[0] == "3"
    raw = base64.urlsafe_b64decode(token[1:] + "=" * (-len(token[1:]) % 4))
    assert b"secret-order-42" not in raw and b"tenant-1" not in raw and b"pk" not in raw
    assert CursorCodec(SECRET).decode(token, "T/", ["pk", "sk"]) == KEY


def test_cursor_is_bound_to_the_key_condition_account_and_region() -> None:
    t, _ = _paged_table("Tab1", SECRET)
    token = t.query(Key("pk").eq("tenant-1") & Key("sk").begins_with("ORDER#")).cursor
    assert token
    t.query(Key("pk").eq("tenant-1") & Key("sk").begins_with("ORDER#"), cursor=token)  # same query: fine
    with pytest.raises(CursorError, match="key condition"):
        t.query(Key("pk").eq("tenant-1") & Key("sk").begins_with("INVOICE#"), cursor=token)
    east = CursorCodec(SECRET, account="111111111111", region="us-east-1")
    tok = east.encode(KEY, "T/")
    assert tok
    for other in (CursorCodec(SECRET, account="222222222222", region="us-east-1"),
                  CursorCodec(SECRET, account="111111111111", region="us-west-2")):
        with pytest.raises(CursorError, match="account or region"):
            other.decode(tok, "T/")


def test_cursor_expires() -> None:
    now = [1_000_000.0]
    codec = CursorCodec(SECRET, ttl=60, clock=lambda: now[0])
    token = codec.encode(KEY, "T/")
    assert token
    now[0] += 59
    assert codec.decode(token, "T/") == KEY
    now[0] += 2
    with pytest.raises(CursorError, match="expired") as exc:
        codec.decode(token, "T/")
    assert exc.value.rule == "cursor.expired"


def test_secrets_rotate_first_encrypts_all_decrypt() -> None:
    old_token = CursorCodec(OLD).encode(KEY, "T/")
    assert old_token
    rotating = CursorCodec([SECRET, OLD])
    assert rotating.decode(old_token, "T/") == KEY  # still accepted during rotation
    new_token = rotating.encode(KEY, "T/")
    assert new_token and CursorCodec(SECRET).decode(new_token, "T/") == KEY  # made with the first secret
    assert rotating.key_ids[0] == CursorCodec(SECRET).key_ids[0] != CursorCodec(OLD).key_ids[0]
    with pytest.raises(CursorError, match="no longer accepts") as exc:
        CursorCodec(SECRET).decode(old_token, "T/")
    assert exc.value.rule == "cursor.key"


def test_secret_length_is_checked() -> None:
    for short in ("s3cret", b"x" * 31, ["k" * 32, "short"]):
        with pytest.raises(CursorError, match="at least 32 are required") as exc:
            CursorCodec(short)
        assert exc.value.path == "cursor_secret"
    with pytest.raises(CursorError, match="empty"):
        CursorCodec([])


def test_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDBKIT_CURSOR_SECRET", f"{SECRET},{OLD}")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    t, _ = _paged_table("Tab1", None)
    assert t.cursors.signed and len(t.cursors.key_ids) == 2 and t.cursors.region == "eu-west-1"


@pytest.mark.parametrize("bad", [
    {"pk": {"S": {"M": {}}}, "sk": {"S": "a"}},   # the issue's example: a map where a string belongs
    {"pk": {"S": "tenant-1"}, "sk": {"N": "1"}},   # N where the table declares S
    {"pk": {"S": "tenant-1"}, "sk": {"S": ""}},    # empty key string
    {"pk": {"S": "tenant-1"}, "sk": {"N": "1e"}},
    {"pk": {"S": "tenant-1"}, "sk": {"B": "not-bytes"}},
    {"pk": {"S": "tenant-1"}, "sk": {"S": "a"}, "extra": {"S": "x"}},
])
def test_cursor_values_are_type_checked_before_sending(bad: dict[str, Any]) -> None:
    fake = FakeDynamo(table="Tab1", keys=("pk", "sk"))
    fake._Query = lambda req: {"Items": [], "Count": 0, "LastEvaluatedKey": bad}  # type: ignore[attr-defined]
    t = Table("Tab1", key=("pk", "sk"), transport=fake)
    t.known_keys = t.known_keys.__class__("pk", "sk", {"pk": "S", "sk": "S"}, complete=True)  # declared types
    token = t.query({"pk": "tenant-1"}).cursor  # a plain cursor correctly bound to this query, holding `bad`
    assert token
    fake.calls.clear()
    with pytest.raises(CursorError) as exc:
        t.query({"pk": "tenant-1"}, cursor=token)
    assert exc.value.rule in ("cursor.type", "cursor.format", "cursor.scope")
    assert fake.calls == []


def test_no_secret_issues_a_loud_warning_once(caplog: pytest.LogCaptureFixture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DDBKIT_CURSOR_SECRET", raising=False)
    monkeypatch.setattr(cursor_mod, "_warned_plain", False)
    t, _ = _paged_table("Tab1", None)
    with caplog.at_level(logging.WARNING, logger="ddbkit.cursor"), pytest.warns(CursorSecurityWarning):
        token = t.query({"pk": "tenant-1"}).cursor
    assert token and token[0] == "4" and "UNENCRYPTED" in caplog.text
    caplog.clear()
    t.query({"pk": "tenant-1"})
    assert "UNENCRYPTED" not in caplog.text  # once per process, not per page


def test_import_ddbkit_does_not_import_cryptography() -> None:
    code = "import sys, ddbkit, ddbkit.core.cursor; print(any(m.startswith('cryptography') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_secret_without_the_crypto_extra_is_a_clear_error_not_a_downgrade() -> None:
    code = ("import sys; sys.modules['cryptography'] = None\n"
            "from ddbkit import Table\n"
            "from ddbkit.errors import DdbkitError\n"
            "try:\n"
            "    Table('Tab1', key='pk', transport='botocore', region_name='us-east-1', cursor_secret='k' * 32)\n"
            "except DdbkitError as e:\n"
            "    print('ERR', e)\n"
            "else:\n"
            "    print('NO ERROR')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.startswith("ERR") and "ddbkit[crypto]" in out.stdout, out.stdout + out.stderr
    assert issubclass(CursorError, DdbkitError)


def test_tampered_encrypted_cursor_is_refused() -> None:
    codec = CursorCodec(SECRET)
    token = codec.encode(KEY, "T/")
    assert token
    for pos in range(1, len(token)):
        flipped = token[:pos] + ("A" if token[pos] != "A" else "B") + token[pos + 1:]
        with pytest.raises(CursorError):
            codec.decode(flipped, "T/")
    with pytest.raises(CursorError, match="without a cursor secret"):
        CursorCodec().decode(token, "T/")
