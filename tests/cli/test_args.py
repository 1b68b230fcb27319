"""Typing of --arg and --arg-json values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.args import ArgError, build_args, parse_pair, parse_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5", 5),
        ("-12", -12),
        ("0", 0),
        ("007", "007"),  # not an integer literal: kept as typed
        ("Olena", "Olena"),
        ("true", True),
        ("false", False),
        ("hex:abcd", b"\xab\xcd"),
        ("hex:", b""),
        ("int:42", 42),
        ("str:42", "42"),
        ("str:true", "true"),
        ("bool:false", False),
        ("http://x", "http://x"),  # an unknown prefix is part of the string
        ("", ""),
    ],
)
def test_values_are_typed_by_prefix_or_inference(text: str, value: object) -> None:
    assert parse_value(text, "a") == value
    assert type(parse_value(text, "a")) is type(value)


@pytest.mark.parametrize("text", ["hex:zz", "int:1.5", "int:", "bool:yes"])
def test_a_bad_prefixed_value_is_refused(text: str) -> None:
    with pytest.raises(ArgError):
        parse_value(text, "a")


def test_pairs_need_a_name_and_an_equals_sign() -> None:
    assert parse_pair("name=a=b") == ("name", "a=b")
    for bad in ("novalue", "=x"):
        with pytest.raises(ArgError):
            parse_pair(bad)


def test_json_args_turn_hex_strings_into_bytes_and_refuse_floats() -> None:
    args = build_args(
        ("n=2",), '{"owners": [{"key": "hex:01ff", "share": 1}], "n": 1, "s": "x"}'
    )
    assert args == {"owners": [{"key": b"\x01\xff", "share": 1}], "n": 2, "s": "x"}
    for bad in ('{"x": 1.5}', "[1]", "{", '{"x": NaN}', '{"k": "hex:q"}'):
        with pytest.raises(ArgError):
            build_args((), bad)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_every_integer_round_trips(n: int) -> None:
    assert parse_value(str(n), "n") == n
    assert parse_value(f"str:{n}", "n") == str(n)


@given(st.binary(max_size=64))
def test_every_byte_string_round_trips(data: bytes) -> None:
    assert parse_value("hex:" + data.hex(), "b") == data
