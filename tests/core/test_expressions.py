"""Expression builder: placeholders everywhere, reserved words, paths, updates, checks."""

from __future__ import annotations

import pytest

from ddbkit.errors import ExpressionError
from ddbkit.core.expressions import (
    Attr,
    Compiler,
    Key,
    Name,
    Path,
    Update,
    check_expression,
    check_placeholders,
    if_not_exists,
    list_append,
    projection,
    size,
)
from ddbkit.core.reserved_words import RESERVED_WORDS, is_reserved


def compile_cond(cond: object) -> tuple[str, dict[str, str], dict[str, object]]:
    c = Compiler()
    text = cond.compile(c)  # type: ignore[attr-defined]
    return text, c.names, c.values


def test_reserved_word_list_is_complete() -> None:
    assert len(RESERVED_WORDS) == 573
    assert is_reserved("status") and is_reserved("Name") and is_reserved("TTL") and not is_reserved("userId")


@pytest.mark.parametrize("word", sorted(RESERVED_WORDS))
def test_every_reserved_word_becomes_a_placeholder(word: str) -> None:
    text, names, _ = compile_cond(Attr(word.lower()) == 1)
    assert word.lower() not in text and names == {"#n0": word.lower()}


def test_filter_with_status_reserved_word() -> None:
    text, names, values = compile_cond((Attr("status") == "ACTIVE") & Attr("expiresAt").gt(10))
    assert text == "(#n0 = :v0 AND #n1 > :v1)"
    assert names == {"#n0": "status", "#n1": "expiresAt"}
    assert values == {":v0": {"S": "ACTIVE"}, ":v1": {"N": "10"}}


def test_paths_split_dots_and_indexes() -> None:
    text, names, _ = compile_cond(Attr("address.lines[2].zip") == "x")
    assert text == "#n0.#n1[2].#n2 = :v0" and names == {"#n0": "address", "#n1": "lines", "#n2": "zip"}
    text, names, _ = compile_cond(Attr(Name("a.b")).exists())
    assert text == "attribute_exists(#n0)" and names == {"#n0": "a.b"}
    assert Path.of("a[0][1].b").parts == ("a", 0, 1, "b")
    for bad in ["", "a..b", "[0]", "a[x]", "a.", "a]"]:
        with pytest.raises(ExpressionError):
            Path.of(bad)


def test_same_name_reuses_placeholder() -> None:
    text, names, _ = compile_cond((Attr("a") > 1) & (Attr("a") < 5))
    assert names == {"#n0": "a"} and text.count("#n0") == 2


def test_all_condition_forms() -> None:
    cases = {
        "begins_with(#n0, :v0)": Attr("a").begins_with("x"),
        "contains(#n0, :v0)": Attr("a").contains("x"),
        "attribute_not_exists(#n0)": Attr("a").not_exists(),
        "attribute_type(#n0, :v0)": Attr("a").attribute_type("S"),
        "#n0 BETWEEN :v0 AND :v1": Attr("a").between(1, 2),
        "#n0 IN (:v0, :v1)": Attr("a").is_in(["x", "y"]),
        "size(#n0) > :v0": size("a") > 3,
        "(NOT #n0 <> :v0)": ~(Attr("a") != 1),
        "(#n0 = :v0 OR #n0 <= :v1)": (Attr("a") == 1) | (Attr("a") <= 2),
        "#n0 >= :v0": Attr("a").gte(1),
    }
    for expected, cond in cases.items():
        assert compile_cond(cond)[0] == expected
    with pytest.raises(TypeError):
        bool(Attr("a") == 1)
    with pytest.raises(ExpressionError):
        Attr("a").is_in([])


def test_key_conditions() -> None:
    kc = Key("userId").eq("u1") & Key("createdAt").between(1, 2)
    c = Compiler()
    assert kc.compile(c) == "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2"
    assert kc.equality() == {"userId": "u1"}
    c = Compiler()
    assert (Key("pk").eq("a") & Key("sk").begins_with("ORDER#")).compile(c) == "#n0 = :v0 AND begins_with(#n1, :v1)"
    with pytest.raises(ExpressionError):
        (Key("a").eq(1) & Key("b").eq(2) & Key("c").eq(3)).compile(Compiler())


def test_update_clauses() -> None:
    u = (Update().set("name", "x").set("visits", Attr("visits") + 1).set("n", if_not_exists("n", 0))
         .set("log", list_append(Attr("log"), ["e"])).remove("tmp", "old.x").add("count", 1).delete("tags", {"a"}))
    c = Compiler()
    text = u.compile(c)
    assert text == ("SET #n0 = :v0, #n1 = #n1 + :v1, #n2 = if_not_exists(#n2, :v2), #n3 = list_append(#n3, :v3) "
                    "REMOVE #n4, #n5.#n6 ADD #n7 :v4 DELETE #n8 :v5")
    assert c.names["#n0"] == "name" and c.values[":v5"] == {"SS": ["a"]}
    assert Update.from_dicts(set={"a": 1}, remove=["b"]).compile(Compiler()) == "SET #n0 = :v0 REMOVE #n1"


def test_update_rejects_overlap_and_empty() -> None:
    with pytest.raises(ExpressionError, match="overlap"):
        Update().set("a.b", 1).remove("a").compile(Compiler())
    with pytest.raises(ExpressionError, match="overlap"):
        Update().set("a", 1).add("a", 1).compile(Compiler())
    with pytest.raises(ExpressionError):
        Update().compile(Compiler())


def test_projection() -> None:
    c = Compiler()
    assert projection(["status", "a.b"], c) == "#n0, #n1.#n2"


def test_hand_written_expression_checks() -> None:
    with pytest.raises(ExpressionError, match="reserved word") as exc:
        check_expression("status = :a", "FilterExpression", {}, {":a": 1})
    assert exc.value.rule == "expression.reserved"
    check_expression("#status = :a AND size(#l) > :b", "FilterExpression", {"#status": "status", "#l": "l"},
                     {":a": 1, ":b": 2})
    with pytest.raises(ExpressionError, match=":b is not defined"):
        check_expression("#s = :a AND #s < :b", "FilterExpression", {"#s": "s"}, {":a": 1})
    with pytest.raises(ExpressionError, match="bytes"):
        check_expression("a = :v OR " * 500, "FilterExpression")


def test_unused_placeholders_are_rejected_like_dynamodb() -> None:
    with pytest.raises(ExpressionError, match="not used"):
        check_placeholders({"FilterExpression": "#a = :v", "ExpressionAttributeNames": {"#a": "a", "#b": "b"},
                            "ExpressionAttributeValues": {":v": {"N": "1"}}})
    with pytest.raises(ExpressionError, match=":w"):
        check_placeholders({"FilterExpression": "#a = :v", "ExpressionAttributeNames": {"#a": "a"},
                            "ExpressionAttributeValues": {":v": {"N": "1"}, ":w": {"N": "2"}}})


def test_values_are_validated_with_their_path() -> None:
    with pytest.raises(Exception) as exc:
        compile_cond(Attr("score") == float("nan"))
    assert "score" in str(exc.value)


# --------------------------------------------------------------------------------------------------
# issue 24 item 16: one rule for function arguments (a str is a path where DynamoDB takes a path or a list)
# --------------------------------------------------------------------------------------------------


def _set(value: object) -> tuple[str, dict[str, str], dict[str, object]]:
    c = Compiler()
    text = Update().set("out", value).compile(c)
    return text, c.names, c.values


L5 = {"L": [{"N": "5"}]}


@pytest.mark.parametrize("value,expr,names,values", [
    # list_append: a str in either position is a path (DynamoDB's list_append takes only lists)
    (list_append("lst", [5]), "SET #n0 = list_append(#n1, :v0)", {"#n0": "out", "#n1": "lst"}, {":v0": L5}),
    (list_append([5], "lst"), "SET #n0 = list_append(:v0, #n1)", {"#n0": "out", "#n1": "lst"}, {":v0": L5}),
    (list_append(Attr("lst"), [5]), "SET #n0 = list_append(#n1, :v0)", {"#n0": "out", "#n1": "lst"}, {":v0": L5}),
    (list_append(Name("odd.lst"), (5,)), "SET #n0 = list_append(#n1, :v0)", {"#n0": "out", "#n1": "odd.lst"},
     {":v0": L5}),
    (list_append("a.b[2]", [5]), "SET #n0 = list_append(#n1.#n2[2], :v0)", {"#n0": "out", "#n1": "a", "#n2": "b"},
     {":v0": L5}),
    (list_append("a", "b"), "SET #n0 = list_append(#n1, #n2)", {"#n0": "out", "#n1": "a", "#n2": "b"}, {}),
    (list_append(if_not_exists("lst", []), [5]), "SET #n0 = list_append(if_not_exists(#n1, :v0), :v1)",
     {"#n0": "out", "#n1": "lst"}, {":v0": {"L": []}, ":v1": L5}),
    # if_not_exists: the first argument is a path; the default is a value (a str too), Attr(...) for a path
    (if_not_exists("n", 0), "SET #n0 = if_not_exists(#n1, :v0)", {"#n0": "out", "#n1": "n"}, {":v0": {"N": "0"}}),
    (if_not_exists("n", "m"), "SET #n0 = if_not_exists(#n1, :v0)", {"#n0": "out", "#n1": "n"}, {":v0": {"S": "m"}}),
    (if_not_exists(Attr("n"), Attr("m")), "SET #n0 = if_not_exists(#n1, #n2)", {"#n0": "out", "#n1": "n", "#n2": "m"},
     {}),
    # a plain str SET value is a value; arithmetic takes a value on the right
    ("lst", "SET #n0 = :v0", {"#n0": "out"}, {":v0": {"S": "lst"}}),
    (Attr("n") + 1, "SET #n0 = #n1 + :v0", {"#n0": "out", "#n1": "n"}, {":v0": {"N": "1"}}),
])
def test_function_arguments_follow_one_rule(value: object, expr: str, names: dict[str, str],
                                            values: dict[str, object]) -> None:
    assert _set(value) == (expr, names, values)
    # the set= mapping of table.update builds the same expression
    c = Compiler()
    assert Update.from_dicts(set={"out": value}).compile(c) == expr and (c.names, c.values) == (names, values)


def test_condition_functions_take_a_str_as_a_path() -> None:
    assert compile_cond(size("tags") > 3) == ("size(#n0) > :v0", {"#n0": "tags"}, {":v0": {"N": "3"}})
    assert compile_cond(Attr("a").exists()) == ("attribute_exists(#n0)", {"#n0": "a"}, {})
    assert compile_cond(Attr("a").not_exists()) == ("attribute_not_exists(#n0)", {"#n0": "a"}, {})
    assert compile_cond(Attr("a").begins_with("b")) == ("begins_with(#n0, :v0)", {"#n0": "a"}, {":v0": {"S": "b"}})
    assert compile_cond(Attr("a").contains("b")) == ("contains(#n0, :v0)", {"#n0": "a"}, {":v0": {"S": "b"}})
    assert compile_cond(Attr("a").attribute_type("S")) == ("attribute_type(#n0, :v0)", {"#n0": "a"},
                                                           {":v0": {"S": "S"}})


@pytest.mark.parametrize("build,match", [
    (lambda: list_append("lst", 5), r"list_append\(argument 2\).*list or an attribute path"),
    (lambda: list_append({"a": 1}, "lst"), r"list_append\(argument 1\).*list or an attribute path"),
    (lambda: list_append("a..b", [5]), r"cannot parse attribute path"),
    (lambda: if_not_exists(5, 0), r"if_not_exists\(argument 1\).*attribute path"),
    (lambda: if_not_exists([1, 2], 0), r"if_not_exists\(argument 1\).*attribute path"),
    (lambda: size(7), r"size\(argument 1\).*attribute path"),
])
def test_bad_function_arguments_are_one_line_errors(build: object, match: str) -> None:
    with pytest.raises(ExpressionError, match=match) as exc:
        build()  # type: ignore[operator]
    assert "\n" not in str(exc.value)
