"""The resource layer's fast transformation is boto3's TypeSerializer / TypeDeserializer, value for value and
error for error (hypothesis over every type, the awkward numbers and the failing cases included)."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddbkit.accelerate.resource import Fallback, deserialize, serialize, setup



setup()
numbers = st.one_of(
    st.integers(), st.integers(min_value=-(10**40), max_value=10**40),
    st.decimals(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.sampled_from([Decimal("1E+126"), Decimal("1E-131"), Decimal("0.1000000000000000000000000000000000000001"),
                     Decimal("-0"), Decimal("1.50"), Decimal("sNaN")]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.floats(), st.text(max_size=5), st.binary(max_size=5),
                    st.binary(max_size=5).map(Binary), st.binary(max_size=5).map(bytearray))
sets = st.one_of(st.sets(st.text(max_size=3), max_size=3), st.sets(st.integers(), max_size=3),
                 st.sets(st.decimals(allow_nan=False, places=2), max_size=3), st.sets(st.binary(max_size=3), max_size=3),
                 st.frozensets(st.one_of(st.text(max_size=2), st.integers()), max_size=3),
                 st.sets(st.floats(allow_nan=False), max_size=2))
values = st.recursive(st.one_of(scalars, sets), lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=3), inner, max_size=3)), max_leaves=12)


def _ours(value: Any) -> Any:
    try:
        return ("ok", serialize(value))
    except Fallback:  # what the engine does: boto3's own code for everything outside the fast cases
        return _boto3(value)


def _boto3(value: Any) -> Any:
    try:
        return ("ok", TypeSerializer().serialize(value))
    except Exception as err:  # noqa: BLE001 - the error is part of the contract
        return ("error", type(err), str(err))


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(values)
def test_serialize_is_typeserializer(value: Any) -> None:
    assert _ours(value) == _boto3(value)


def _reply(av: Any) -> Any:
    """A serialized value as botocore returns it: every B / BS value as bytes."""
    if isinstance(av, dict):
        if set(av) == {"B"} and isinstance(av["B"], (bytes, bytearray)):
            return {"B": bytes(av["B"])}
        if set(av) == {"BS"} and isinstance(av["BS"], list):
            return {"BS": [bytes(b) for b in av["BS"]]}
        return {k: _reply(v) for k, v in av.items()}
    if isinstance(av, list):
        return [_reply(v) for v in av]
    return av


def _wire(av: Any) -> Any:
    """botocore's reply form (B as bytes) -> the JSON wire form ddbkit reads (B as base64 text)."""
    if isinstance(av, dict):
        if set(av) == {"B"} and isinstance(av["B"], bytes):
            return {"B": base64.b64encode(av["B"]).decode()}
        if set(av) == {"BS"} and isinstance(av["BS"], list):
            return {"BS": [base64.b64encode(b).decode() for b in av["BS"]]}
        return {k: _wire(v) for k, v in av.items()}
    if isinstance(av, list):
        return [_wire(v) for v in av]
    return av


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(values)
def test_deserialize_is_typedeserializer(value: Any) -> None:
    try:
        av = TypeSerializer().serialize(value)
    except Exception:  # noqa: BLE001 - not a storable value
        return
    av = _reply(av)
    assert _result(lambda: deserialize(_wire(av))) == _result(lambda: TypeDeserializer().deserialize(av))


def _result(call: Any) -> Any:
    """The value (by repr: NaN is not equal to itself) or the exception type."""
    try:
        return repr(call())
    except Exception as err:  # noqa: BLE001 - the error is part of the contract
        return type(err)


@pytest.mark.parametrize("av", [{}, {"S": "a", "N": "1"}, {"X": 1}, "S"])
def test_malformed_attribute_values_fall_back_to_boto3(av: Any) -> None:
    with pytest.raises(Fallback):
        deserialize(av)
