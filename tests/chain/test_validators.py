"""The validator set: order, uniqueness, hash and the quorum arithmetic."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain import encoding
from chain.errors import ValidationError
from chain.hashing import sha256
from chain.validators import MAX_POWER, MAX_VALIDATORS, Validator, ValidatorSet
from tests.chain.support import make_validators, mutated, returns_or_chain_error, values


def validator(i: int, power: int = 1) -> Validator:
    key = i.to_bytes(2, "big") * 16
    return Validator(f"v{i}", power, key, b"\xff" + key[1:])


def test_ordered_by_key_whatever_the_input_order() -> None:
    a = ValidatorSet([validator(3), validator(1), validator(2)])
    b = ValidatorSet([validator(2), validator(3), validator(1)])
    assert [v.name for v in a] == ["v1", "v2", "v3"]
    assert a == b and hash(a) == hash(b) and a.hash == b.hash
    assert a.hash == sha256(encoding.encode(a.to_value()))


def test_lookup() -> None:
    valset = ValidatorSet([validator(1, 5), validator(2, 7)])
    assert len(valset) == 2 and valset.total_power == 12
    assert validator(1).key in valset and validator(9).key not in valset
    assert valset.power_of(validator(2).key) == 7
    assert valset.power_of(validator(9).key) == 0
    assert valset.get(validator(9).key) is None


def test_hash_depends_on_power() -> None:
    assert ValidatorSet([validator(1, 1)]).hash != ValidatorSet([validator(1, 2)]).hash


@pytest.mark.parametrize(
    ("validators", "code"),
    [
        ([], "validators.empty"),
        ([validator(1), validator(1)], "validators.duplicate"),
        (
            [validator(i, 1) for i in range(MAX_VALIDATORS + 1)],
            "validators.too_many",
        ),
    ],
)
def test_refused_sets(validators: list[Validator], code: str) -> None:
    with pytest.raises(ValidationError) as info:
        ValidatorSet(validators)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("total", "power", "quorum"),
    [
        (3, 2, False),  # exactly two thirds is not enough
        (3, 3, True),
        (4, 2, False),
        (4, 3, True),
        (6, 4, False),
        (6, 5, True),
        (100, 66, False),
        (100, 67, True),
        (300, 200, False),
        (300, 201, True),
    ],
)
def test_more_than_two_thirds(total: int, power: int, quorum: bool) -> None:
    valset, _ = make_validators([total])
    assert valset.is_quorum(power) == quorum


@given(st.lists(st.integers(1, MAX_POWER), min_size=1, max_size=8), st.data())
def test_quorum_is_integer_exact(powers: list[int], data: st.DataObject) -> None:
    valset = ValidatorSet(validator(i, p) for i, p in enumerate(powers))
    power = data.draw(st.integers(0, valset.total_power))
    assert valset.is_quorum(power) == (3 * power > 2 * valset.total_power)
    assert valset.is_one_third(power) == (3 * power > valset.total_power)


def test_one_third() -> None:
    valset, _ = make_validators([1, 1, 1])
    assert not valset.is_one_third(1)
    assert valset.is_one_third(2)


def test_round_trip() -> None:
    valset, _ = make_validators([1, 2, 3, 4])
    again = ValidatorSet.from_value(encoding.decode(encoding.encode(valset.to_value())))
    assert again == valset
    assert again.validators == valset.validators


@pytest.mark.parametrize(
    "value",
    [
        {"key": b"\x01" * 32},
        [{"key": b"\x01" * 32, "name": "a", "node_key": b"\x02" * 32, "power": 0}],
        [{"key": b"\x01" * 32, "name": "a", "node_key": b"\x02" * 32}],
        [{"key": b"\x01" * 31, "name": "a", "node_key": b"\x02" * 32, "power": 1}],
        [{"key": b"\x01" * 32, "name": "", "node_key": b"\x02" * 32, "power": 1}],
        [
            {
                "key": b"\x01" * 32,
                "name": "a",
                "node_key": b"\x02" * 32,
                "power": MAX_POWER + 1,
            }
        ],
        [],
    ],
)
def test_malformed_values(value: Any) -> None:
    with pytest.raises(ValidationError):
        ValidatorSet.from_value(value)


VALID = encoding.encode(make_validators([1, 2, 3])[0].to_value())


def decode_set(data: bytes) -> ValidatorSet:
    return ValidatorSet.from_value(encoding.decode(data))


@settings(max_examples=200)
@given(mutated(st.just(VALID)))
def test_fuzz_mutated(data: bytes) -> None:
    returns_or_chain_error(decode_set, data)


@settings(max_examples=50)
@given(values)
def test_fuzz_values(value: Any) -> None:
    returns_or_chain_error(ValidatorSet.from_value, value)
    returns_or_chain_error(Validator.from_value, value)
