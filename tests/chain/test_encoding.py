"""Canonical msgpack: exact bytes, round trips and every rejection code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.encoding import (
    INT_MAX,
    INT_MIN,
    MAX_DEPTH,
    MAX_ENCODED,
    decode,
    decode_stored,
    encode,
    encode_array,
)
from chain.errors import EncodingError
from tests.chain.support import mutated, returns_or_chain_error, values


def code_of_decode(hex_bytes: str) -> str:
    with pytest.raises(EncodingError) as info:
        decode(bytes.fromhex(hex_bytes))
    return info.value.code


def code_of_encode(value: object) -> str:
    with pytest.raises(EncodingError) as info:
        encode(value)
    return info.value.code


# -- exact bytes --------------------------------------------------------------


def test_map_is_written_in_sorted_key_order() -> None:
    value = {"b": 1, "a": [True, None, b"\x00", "x"]}
    assert encode(value).hex() == "82a16194c3c0c40100a178a16201"


def test_keys_sort_by_utf8_bytes_and_length() -> None:
    value = {"z": 0, "é": 0, "aa": 0, "a": 0, "": 0}
    assert list(decode(encode(value))) == ["", "a", "aa", "z", "é"]


def test_tuples_encode_as_lists() -> None:
    assert encode((1, 2)) == encode([1, 2])


@pytest.mark.parametrize(
    ("value", "hex_bytes"),
    [
        (0, "00"),
        (127, "7f"),
        (128, "cc80"),
        (255, "ccff"),
        (256, "cd0100"),
        (65_536, "ce00010000"),
        (2**32, "cf0000000100000000"),
        (INT_MAX, "cf7fffffffffffffff"),
        (-1, "ff"),
        (-32, "e0"),
        (-33, "d0df"),
        (-129, "d1ff7f"),
        (INT_MIN, "d38000000000000000"),
        (b"", "c400"),
        ("", "a0"),
        ("x" * 32, "d920" + "78" * 32),
        ([], "90"),
        ({}, "80"),
    ],
)
def test_minimal_forms(value: object, hex_bytes: str) -> None:
    assert encode(value).hex() == hex_bytes
    assert decode(bytes.fromhex(hex_bytes)) == value


@given(values)
def test_round_trip(value: object) -> None:
    data = encode(value)
    assert decode(data) == value
    assert encode(decode(data)) == data


def test_bytes_like_inputs_are_accepted() -> None:
    data = encode({"a": b"xy"})
    assert decode(bytearray(data)) == decode(memoryview(data)) == {"a": b"xy"}


# -- refused values (encode side) --------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (1.5, "encoding.float"),
        (float("nan"), "encoding.float"),
        ({"a": [0.0]}, "encoding.float"),
        ({1: "x"}, "encoding.map_key"),
        ({b"k": "x"}, "encoding.map_key"),
        ({None: "x"}, "encoding.map_key"),
        (2**63, "encoding.int_range"),
        (INT_MIN - 1, "encoding.int_range"),
        ({1, 2}, "encoding.type"),
        (bytearray(b"x"), "encoding.type"),
        (object(), "encoding.type"),
        ("\ud800", "encoding.utf8"),
        ({"\udfff": 1}, "encoding.utf8"),
        (b"x" * MAX_ENCODED, "encoding.too_large"),
    ],
)
def test_encode_refuses(value: object, code: str) -> None:
    assert code_of_encode(value) == code


def nested(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_limit() -> None:
    assert decode(encode(nested(MAX_DEPTH))) == nested(MAX_DEPTH)
    assert code_of_encode(nested(MAX_DEPTH + 1)) == "encoding.too_deep"


# -- refused bytes (decode side) ---------------------------------------------


@pytest.mark.parametrize(
    ("hex_bytes", "code"),
    [
        # floats, in both widths, and NaN
        ("ca3f800000", "encoding.float"),
        ("cb3ff0000000000000", "encoding.float"),
        ("cb7ff8000000000000", "encoding.float"),
        ("81a161cb0000000000000000", "encoding.float"),
        # map keys that are not str
        ("810102", "encoding.malformed"),
        ("81c0a178", "encoding.malformed"),
        ("8190c0", "encoding.malformed"),
        ("81c4016102", "encoding.map_key"),
        # unsorted and duplicate keys
        ("82a16201a16102", "encoding.non_canonical"),
        ("82a16101a16101", "encoding.non_canonical"),
        ("82a16201a261610a", "encoding.non_canonical"),
        # integers that are not in their shortest form
        ("cc05", "encoding.non_canonical"),
        ("cd0005", "encoding.non_canonical"),
        ("cd00ff", "encoding.non_canonical"),
        ("ce00000005", "encoding.non_canonical"),
        ("cf0000000000000005", "encoding.non_canonical"),
        ("d001", "encoding.non_canonical"),
        ("d0ff", "encoding.non_canonical"),
        ("d1ffff", "encoding.non_canonical"),
        ("d2ffffffff", "encoding.non_canonical"),
        ("d3ffffffffffffffff", "encoding.non_canonical"),
        ("d37fffffffffffffff", "encoding.non_canonical"),
        # strings, binaries, arrays and maps in a longer header than needed
        ("d90161", "encoding.non_canonical"),
        ("da000161", "encoding.non_canonical"),
        ("c5000161", "encoding.non_canonical"),
        ("dc000101", "encoding.non_canonical"),
        ("de0001a16101", "encoding.non_canonical"),
        # integers outside signed 64 bits
        ("cf8000000000000000", "encoding.int_range"),
        ("cfffffffffffffffff", "encoding.int_range"),
        # trailing bytes
        ("0102", "encoding.trailing"),
        ("80c0", "encoding.trailing"),
        # extension types of every width, including the timestamp type -1
        ("d40500", "encoding.ext"),
        ("d5056162", "encoding.ext"),
        ("d60500000000", "encoding.ext"),
        ("d7050000000000000000", "encoding.ext"),
        ("d805" + "00" * 16, "encoding.ext"),
        ("c70105ff", "encoding.ext"),
        ("c8000105ff", "encoding.ext"),
        ("c90000000105ff", "encoding.ext"),
        ("d6ff00000001", "encoding.ext"),
        ("d7ff0000000000000001", "encoding.ext"),
        # invalid UTF-8: bad continuation, overlong, encoded surrogate, 0xff
        ("a2c328", "encoding.malformed"),
        ("a2c080", "encoding.malformed"),
        ("a3eda080", "encoding.malformed"),
        ("a1ff", "encoding.malformed"),
        # truncated input, the reserved byte, nothing at all
        ("", "encoding.malformed"),
        ("81a161", "encoding.malformed"),
        ("c40561", "encoding.malformed"),
        ("cd01", "encoding.malformed"),
        ("c1", "encoding.malformed"),
    ],
)
def test_decode_refuses(hex_bytes: str, code: str) -> None:
    assert code_of_decode(hex_bytes) == code


def test_too_deep_is_refused() -> None:
    assert code_of_decode("91" * (MAX_DEPTH + 1) + "c0") == "encoding.too_deep"
    # Far deeper than msgpack's own stack: still our error, never a crash.
    with pytest.raises(EncodingError):
        decode(b"\x91" * 100_000 + b"\xc0")


def test_size_is_checked_before_decoding() -> None:
    with pytest.raises(EncodingError) as info:
        decode(b"\xc0", max_size=0)
    assert info.value.code == "encoding.too_large"
    # Garbage over the limit is refused for its size, not parsed.
    with pytest.raises(EncodingError) as info:
        decode(b"\xc1" * (MAX_ENCODED + 1))
    assert info.value.code == "encoding.too_large"


def test_non_bytes_input_is_refused() -> None:
    with pytest.raises(EncodingError) as info:
        decode("80")  # type: ignore[arg-type]
    assert info.value.code == "encoding.type"


def test_error_carries_code_and_message() -> None:
    with pytest.raises(EncodingError) as info:
        decode(b"\x01\x02")
    assert str(info.value).startswith("encoding.trailing: ")
    assert info.value.message


# -- fuzzing ------------------------------------------------------------------


def canonical_or_refused(data: bytes) -> None:
    try:
        value = decode(data)
    except EncodingError:
        return
    assert encode(value) == data  # exactly one byte form per value


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_fuzz_random_bytes(data: bytes) -> None:
    canonical_or_refused(data)


@settings(max_examples=150)
@given(mutated(values.map(encode)))
def test_fuzz_mutated_encodings(data: bytes) -> None:
    canonical_or_refused(data)


@given(st.binary(max_size=64), st.integers(0, 64))
def test_fuzz_with_small_limits(data: bytes, limit: int) -> None:
    returns_or_chain_error(lambda d: decode(d, max_size=limit), data)


@given(st.lists(values, max_size=40))
def test_encode_array_of_encoded_items_is_the_list_encoding(items: list) -> None:
    assert encode_array([encode(v) for v in items]) == encode(items)


@pytest.mark.parametrize("n", [0, 15, 16, 65535, 65536])
def test_encode_array_headers_at_the_size_boundaries(n: int) -> None:
    items = [None] * n
    packed = encode_array([encode(v) for v in items])
    assert packed == encode(items)
    assert decode(packed) == items


@given(values)
def test_decode_stored_reads_what_encode_wrote(value: object) -> None:
    raw = encode(value)
    assert decode_stored(raw) == decode(raw)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\xd4\x01\x00", "encoding.ext"),
        (b"\x01\x02", "encoding.trailing"),
        (b"\x92\x01", "encoding.malformed"),
        (b"\x81\x01\x02", "encoding.malformed"),
    ],
)
def test_decode_stored_is_as_strict_about_structure(raw: bytes, code: str) -> None:
    for reader in (decode, decode_stored):
        with pytest.raises(EncodingError) as info:
            reader(raw)
        assert info.value.code == code


def test_decode_stored_skips_only_the_canonical_form_check() -> None:
    unsorted = b"\x82\xa1b\x01\xa1a\x02"  # {"b": 1, "a": 2}, keys out of order
    with pytest.raises(EncodingError) as info:
        decode(unsorted)
    assert info.value.code == "encoding.non_canonical"
    assert decode_stored(unsorted) == {"b": 1, "a": 2}
