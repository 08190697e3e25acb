"""Update paths are compared as tuples of segments, not rendered strings (issue 17).

``Name("a.b")`` is one top-level attribute whose name holds a dot; it does not overlap ``a``, and DynamoDB
(Local) accepts the update. Real overlaps are still refused before anything is sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from ddbkit import Table
from ddbkit.core.expressions import Compiler, ExpressionError, Name, Update


def test_literal_dotted_name_does_not_overlap_its_prefix() -> None:
    c = Compiler()
    assert Update().set(Name("a.b"), 2).remove("a").compile(c) == "SET #n0 = :v0 REMOVE #n1"
    assert c.names == {"#n0": "a.b", "#n1": "a"}


@pytest.mark.parametrize("update", [
    Update().set("a.b", 1).remove("a"),
    Update().set("a", 1).remove("a.b"),
    Update().set("a[0]", 1).remove("a"),
    Update().set(Name("a.b"), 1).remove(Name("a.b")),
    Update().set(("a", "b"), 1).add("a.b", 1),
])
def test_real_overlaps_are_still_refused(update: Update) -> None:
    with pytest.raises(ExpressionError, match="overlap"):
        update.compile(Compiler())


def test_siblings_and_prefix_names_do_not_overlap() -> None:
    Update().set("ab", 1).remove("a").set("a2.b", 1).compile(Compiler())


def test_dynamodb_local_accepts_the_literal_name_update(ddb_local_backend: Any) -> None:
    client = ddb_local_backend.client()
    client.create_table(TableName="Paths", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    table = Table("Paths", key="pk", client=client)
    table.put({"pk": "k", "a": {"b": 1}, "a.b": 0})
    table.update({"pk": "k"}, Update().set(Name("a.b"), 2).remove("a"))
    assert table.get({"pk": "k"}) == {"pk": "k", "a.b": 2}


def test_parsed_string_paths_are_shared_bounded_and_errors_are_not_kept() -> None:
    from ddbkit.core import expressions

    assert expressions.Path.of("a.b[1]") is expressions.Path.of("a.b[1]")
    assert expressions.Path.of("a.b[1]").parts == ("a", "b", 1)
    for bad in ("a..b", "[1]", ""):
        for _ in range(2):  # refused each time, never cached
            with pytest.raises(expressions.ExpressionError):
                expressions.Path.of(bad)
        assert bad not in expressions._PATHS
    for i in range(expressions._PATHS_MAX + 50):  # paths made from data do not grow it without end
        expressions.Path.of(f"p{i}")
    assert len(expressions._PATHS) <= expressions._PATHS_MAX
