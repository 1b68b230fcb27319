"""Transactions: bytes, id, signature checks and structural refusals."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain import encoding
from chain.errors import ChainError, SignatureError, ValidationError
from chain.hashing import sha256
from chain.keys import TAG_TX, TAG_VOTE, dev_key
from chain.tx import MAX_TX_BYTES, Event, SignedTx, TxBody, TxResult, encode_results
from tests.chain.support import (
    CHAIN,
    body,
    mutated,
    returns_or_chain_error,
    signed_tx,
    values,
)


def raw_tx(body_value: Any, sig: bytes = b"\x00" * 64) -> bytes:
    return encoding.encode({"body": encoding.encode(body_value), "sig": sig})


def decode_code(raw: bytes) -> str:
    with pytest.raises(ChainError) as info:
        SignedTx.decode(raw)
    return info.value.code


def test_create_decode_round_trip() -> None:
    tx = signed_tx()
    again = SignedTx.decode(tx.raw)
    assert again == tx
    assert again.body == body()
    assert tx.id == sha256(tx.raw)
    assert encoding.decode(tx.raw) == {"body": tx.body_bytes, "sig": tx.sig}
    assert tx.body_bytes == body().encode()
    tx.verify_signature(CHAIN)


def test_body_is_a_canonical_map_of_six_fields() -> None:
    value = encoding.decode(body().encode())
    assert list(value) == ["action", "args", "chain", "module", "nonce", "sender"]


def test_signature_covers_tag_chain_and_body() -> None:
    tx = signed_tx()
    key = dev_key("citizen-1")
    assert tx.sig == key.sign(TAG_TX, CHAIN, tx.body_bytes)


@settings(max_examples=50)
@given(values, st.integers(1, encoding.INT_MAX))
def test_args_and_nonce_round_trip(arg: Any, nonce: int) -> None:
    tx = signed_tx(args={"value": arg}, nonce=nonce)
    assert SignedTx.decode(tx.raw).body.args == {"value": arg}


def test_tampered_signature() -> None:
    tx = signed_tx()
    sig = bytearray(tx.sig)
    sig[10] ^= 1
    bad = SignedTx.decode(encoding.encode({"body": tx.body_bytes, "sig": bytes(sig)}))
    with pytest.raises(SignatureError) as info:
        bad.verify_signature(CHAIN)
    assert info.value.code == "sig.invalid"


def test_tampered_body() -> None:
    tx = signed_tx(nonce=1)
    other = body(nonce=2).encode()
    bad = SignedTx.decode(encoding.encode({"body": other, "sig": tx.sig}))
    with pytest.raises(SignatureError) as info:
        bad.verify_signature(CHAIN)
    assert info.value.code == "sig.invalid"


def test_signature_by_another_key() -> None:
    tx = signed_tx()
    forged = dev_key("mallory").sign(TAG_TX, CHAIN, tx.body_bytes)
    bad = SignedTx.decode(encoding.encode({"body": tx.body_bytes, "sig": forged}))
    with pytest.raises(SignatureError):
        bad.verify_signature(CHAIN)


def test_vote_signature_is_not_a_tx_signature() -> None:
    tx = signed_tx()
    sig = dev_key("citizen-1").sign(TAG_VOTE, CHAIN, tx.body_bytes)
    bad = SignedTx.decode(encoding.encode({"body": tx.body_bytes, "sig": sig}))
    with pytest.raises(SignatureError):
        bad.verify_signature(CHAIN)


def test_wrong_chain() -> None:
    tx = signed_tx(chain="egov-other")
    with pytest.raises(ValidationError) as info:
        tx.verify_signature(CHAIN)
    assert info.value.code == "tx.wrong_chain"
    tx.verify_signature("egov-other")


def test_key_must_match_sender() -> None:
    with pytest.raises(ValidationError) as info:
        SignedTx.create(body(sender=dev_key("a")), dev_key("b"))
    assert info.value.code == "tx.wrong_key"


def test_oversize_transaction() -> None:
    big = signed_tx(args={"blob": b"x" * MAX_TX_BYTES}).raw
    assert decode_code(big) == "tx.too_large"
    assert decode_code(b"\x00" * (MAX_TX_BYTES + 1)) == "tx.too_large"


def test_largest_transaction_fits() -> None:
    small = signed_tx(args={"blob": b""}).raw
    # Two length prefixes grow by one byte each (bin8 to bin16).
    filler = MAX_TX_BYTES - len(small) - 2
    tx = signed_tx(args={"blob": b"x" * filler})
    assert len(tx.raw) == MAX_TX_BYTES
    assert SignedTx.decode(tx.raw) == tx
    tx = signed_tx(args={"blob": b"x" * (filler + 1)})
    assert decode_code(tx.raw) == "tx.too_large"


GOOD_BODY = body().to_value()


def broken(**changes: Any) -> dict[str, Any]:
    value = dict(GOOD_BODY)
    for name, new in changes.items():
        if new is DROP:
            del value[name]
        else:
            value[name] = new
    return value


DROP = object()


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (broken(nonce=0), "validation.range"),
        (broken(nonce=-1), "validation.range"),
        (broken(nonce=True), "validation.type"),
        (broken(nonce="1"), "validation.type"),
        (broken(module=""), "tx.bad_name"),
        (broken(module="Identity"), "tx.bad_name"),
        (broken(module="1dentity"), "tx.bad_name"),
        (broken(module="iden-tity"), "tx.bad_name"),
        (broken(module="identity\n"), "tx.bad_name"),
        (broken(module="a" * 33), "validation.size"),
        (broken(action="rotate key"), "tx.bad_name"),
        (broken(action="_rotate"), "tx.bad_name"),
        (broken(action="rotate_key\n"), "tx.bad_name"),
        (broken(action="rötate"), "tx.bad_name"),
        (broken(action=b"rotate"), "validation.type"),
        (broken(chain=""), "validation.size"),
        (broken(chain="c" * 65), "validation.size"),
        (broken(sender=b"\x01" * 31), "validation.size"),
        (broken(sender="ab" * 16), "validation.type"),
        (broken(args=[1]), "tx.bad_args"),
        (broken(args=None), "tx.bad_args"),
        (broken(args=DROP), "validation.fields"),
        (broken(extra=1), "validation.fields"),
        ([GOOD_BODY], "validation.type"),
    ],
)
def test_structurally_invalid_body(value: Any, code: str) -> None:
    assert decode_code(raw_tx(value)) == code


@pytest.mark.parametrize(
    ("outer", "code"),
    [
        ({"body": body().encode()}, "validation.fields"),
        ({"body": body().encode(), "sig": b"\x00" * 63}, "validation.size"),
        ({"body": body().encode(), "sig": b"\x00" * 64, "x": 1}, "validation.fields"),
        ({"body": body().to_value(), "sig": b"\x00" * 64}, "validation.type"),
        ({"body": b"\xc1", "sig": b"\x00" * 64}, "encoding.malformed"),
        ({"body": b"\x80\x00", "sig": b"\x00" * 64}, "encoding.trailing"),
        ([body().encode(), b"\x00" * 64], "validation.type"),
    ],
)
def test_structurally_invalid_envelope(outer: Any, code: str) -> None:
    assert decode_code(encoding.encode(outer)) == code


def test_non_canonical_body_bytes_are_refused() -> None:
    # Same fields, keys out of order: would give a second id for one body.
    good = body().encode()
    value = encoding.decode(good)
    unsorted = b"\x86" + b"".join(
        encoding.encode(k) + encoding.encode(value[k]) for k in reversed(value)
    )
    assert decode_code(raw_tx_bytes(unsorted)) == "encoding.non_canonical"


def raw_tx_bytes(body_bytes: bytes) -> bytes:
    return encoding.encode({"body": body_bytes, "sig": b"\x00" * 64})


def test_names_at_the_limits() -> None:
    tx = signed_tx(module="a" * 32, action="z0_")
    assert SignedTx.decode(tx.raw).body.module == "a" * 32


# -- results and events ------------------------------------------------------


def test_result_round_trip() -> None:
    result = TxResult(
        "petition.already_signed",
        "this key has already signed",
        (Event("petition.signed", {"id": 7}), Event("x", {})),
    )
    value = encoding.decode(result.encode())
    assert list(value) == ["code", "events", "message"]
    assert TxResult.from_value(value) == result
    assert not result.ok
    assert TxResult("ok").ok
    assert (
        TxResult("ok").encode().hex()
        == "83a4636f6465a26f6ba66576656e747390a76d657373616765a0"
    )


def test_stored_results_are_the_list_of_the_results_hashed() -> None:
    results = [
        TxResult("ok", "", (Event("petition.signed", {"id": i, "by": "p"}),))
        for i in range(40)
    ] + [TxResult("vote.closed", "the ballot is closed"), TxResult("ok", "end")]
    raw = encode_results(results)
    assert raw == encoding.encode([r.to_value() for r in results])
    assert [TxResult.from_value(v) for v in encoding.decode(raw)] == results
    assert encode_results([]) == encoding.encode([])


@pytest.mark.parametrize(
    "value",
    [
        {"code": "", "events": [], "message": ""},
        {"code": "ok", "events": [], "message": 1},
        {"code": "ok", "events": {}, "message": ""},
        {"code": "ok", "events": [{"type": "e"}], "message": ""},
        {"code": "ok", "events": [{"attrs": [], "type": "e"}], "message": ""},
        {"code": "ok", "events": [{"attrs": {}, "type": ""}], "message": ""},
        {"code": "ok", "message": ""},
        "ok",
    ],
)
def test_malformed_results(value: Any) -> None:
    with pytest.raises(ValidationError):
        TxResult.from_value(value)


# -- fuzzing -------------------------------------------------------------------

VALID_TXS = [
    signed_tx().raw,
    signed_tx(args={}, nonce=2**40).raw,
    signed_tx(args={"a": [1, None, True], "b": {"c": b"\x00"}}).raw,
]


def decode_and_check(raw: bytes) -> None:
    tx = SignedTx.decode(raw)
    try:
        tx.verify_signature(CHAIN)
    except ChainError:
        pass


@settings(max_examples=300)
@given(mutated(st.sampled_from(VALID_TXS)))
def test_fuzz_mutated_transactions(raw: bytes) -> None:
    returns_or_chain_error(decode_and_check, raw)


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(raw: bytes) -> None:
    returns_or_chain_error(decode_and_check, raw)


@settings(max_examples=60)
@given(values)
def test_fuzz_decoded_values(value: Any) -> None:
    returns_or_chain_error(TxBody.from_value, value)
    returns_or_chain_error(TxResult.from_value, value)
    returns_or_chain_error(Event.from_value, value)


@settings(max_examples=200)
@given(mutated(st.sampled_from([TxResult("ok", "", (Event("a", {"b": 1}),)).encode()])))
def test_fuzz_mutated_results(raw: bytes) -> None:
    returns_or_chain_error(lambda d: TxResult.from_value(encoding.decode(d)), raw)
