"""Config hardening (issue 16): YAML alias bombs, recursive aliases and huge files; backup schedules."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from ddbkit.config import ConfigError, load_component_text, parse_table_config, schedule_error, schedule_is_daily

# The issue's 355-byte alias bomb: 9 levels of 9 aliases, 9**9 (387 M) leaves once expanded.
BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

TABLE = """
components:
  - name: t
    type: dynamodb-table
    config:
      tableName: Things
      attributeDefinitions: [{attributeName: id, attributeType: S}]
      keySchema: [{attributeName: id, keyType: HASH}]
      tags: &tags {team: data}
  - name: u
    type: dynamodb-table
    config:
      tableName: Others
      attributeDefinitions: [{attributeName: id, attributeType: S}]
      keySchema: [{attributeName: id, keyType: HASH}]
      tags: *tags
"""


def _rule(text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        load_component_text(text)
    return exc.value.issues[0].rule


def test_alias_bomb_is_refused_without_expanding_it() -> None:
    assert len(BOMB.encode()) <= 400
    tracemalloc.start()
    try:
        assert _rule(BOMB) == "yaml.aliases"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # it was 498 MB: the expansion is never built


def test_recursive_alias_is_a_config_error_not_a_recursion_error() -> None:
    for text in ("components: &a [*a]\n", "a: &a {b: *a}\n"):
        with pytest.raises(ConfigError) as exc:
            load_component_text(text)
        assert exc.value.issues[0].rule == "yaml.aliases" and "refers to itself" in str(exc.value)


def test_oversized_file_is_refused() -> None:
    text = TABLE + "# " + "x" * (1024 * 1024) + "\n"
    assert _rule(text) == "yaml.size"


def test_ordinary_anchors_still_work() -> None:
    loaded = load_component_text(TABLE)
    assert loaded.tables["u"].tags == {"team": "data"}


BASE: dict[str, Any] = {
    "tableName": "Things",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
}


@pytest.mark.parametrize("expr", ["rate(1 day)", "rate(12 hours)", "rate(2000 minutes)"])
def test_rate_schedules_are_refused_aws_backup_takes_cron_only(expr: str) -> None:
    err = schedule_error(expr)
    assert err and "cron" in err and "rate" in err
    data = {**BASE, "backupPolicy": {"backupPlan": {"ruleName": "daily", "schedule": expr, "retention": 35}}}
    with pytest.raises(ConfigError) as exc:
        parse_table_config(data)
    assert exc.value.issues[0].rule == "backup.schedule"


@pytest.mark.parametrize("expr,daily", [
    ("cron(0 2 * * ? *)", True),
    ("cron(0 2 ? * * *)", True),
    ("cron(0 2 ? * SUN-SAT *)", True),
    ("cron(0 2 ? * 1-7 *)", True),
    ("cron(0 2 ? * SUN,MON,TUE,WED,THU,FRI,SAT *)", True),
    ("cron(0 2 1-31 * ? *)", True),
    ("cron(0 2 1-31 1-12 ? *)", True),
    ("cron(0 2 1-31 JAN-DEC ? *)", True),
    ("cron(0 2 ? * MON-FRI *)", False),
    ("cron(0 2 1-30 * ? *)", False),
    ("cron(0 2 */2 * ? *)", False),
    ("cron(0 2 ? * * 2027)", False),
    ("cron(0 2 * 1-6 ? *)", False),
    ("rate(2000 minutes)", False),
    ("rate(1 day)", False),
])
def test_daily_backup_rule(expr: str, daily: bool) -> None:
    assert schedule_is_daily(expr) is daily
