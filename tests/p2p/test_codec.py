"""The message codec: known types and fields only; our errors on anything else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain import encoding
from p2p.codec import DEFAULT_CODEC, MessageCodec
from p2p.errors import ProtocolError, UsageError

VALID: list[dict[str, Any]] = [
    {"type": "ping"},
    {"type": "tx", "tx": b"\x82signed"},
    {"type": "txs", "txs": [b"\x82one", b"\x82two"]},
    {"type": "txs", "txs": []},
    {"type": "proposal", "proposal": {"round": 0}, "block": b"block bytes"},
    {"type": "vote", "vote": b"vote"},
    {"type": "evidence", "evidence": {"a": b"1", "b": b"2"}},
    {"type": "status", "height": 7, "hash": b"\x00" * 32},
    {"type": "block_request", "from_height": 1, "count": 50},
    {"type": "block_response", "blocks": [b"b1", {"block": b"b2"}]},
]


@pytest.mark.parametrize("message", VALID, ids=lambda m: m["type"])
def test_round_trip(message: dict[str, Any]) -> None:
    data = DEFAULT_CODEC.encode(message)
    assert data == encoding.encode(message)
    assert DEFAULT_CODEC.decode(data) == message


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ([1, 2], "p2p.bad_message"),
        ({"tx": b"x"}, "p2p.bad_message"),
        ({"type": 3}, "p2p.bad_message"),
        ({"type": "teleport"}, "p2p.unknown_type"),
        ({"type": "tx"}, "p2p.bad_message"),
        ({"type": "tx", "tx": b"x", "extra": 1}, "p2p.bad_message"),
        ({"type": "tx", "tx": "not bytes"}, "p2p.bad_message"),
        ({"type": "txs", "txs": b"x"}, "p2p.bad_message"),
        ({"type": "txs", "txs": [b"x", "not bytes"]}, "p2p.bad_message"),
        ({"type": "vote", "vote": 5}, "p2p.bad_message"),
        ({"type": "status", "height": -1, "hash": b""}, "p2p.bad_message"),
        ({"type": "status", "height": True, "hash": b""}, "p2p.bad_message"),
        ({"type": "block_response", "blocks": {}}, "p2p.bad_message"),
    ],
)
def test_refuses_what_does_not_fit(value: Any, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        DEFAULT_CODEC.decode(encoding.encode(value))
    assert caught.value.code == code


def test_refuses_non_canonical_bytes() -> None:
    # The map written with its keys out of order.
    data = b"\x82\xa4type\xa2tx\xa2tx\xc4\x01x"
    assert encoding.encode({"type": "tx", "tx": b"x"}) != data
    with pytest.raises(ProtocolError) as caught:
        DEFAULT_CODEC.decode(data)
    assert caught.value.code == "p2p.bad_message"


def test_our_own_bad_message_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        DEFAULT_CODEC.encode({"type": "vote"})
    assert caught.value.code == "p2p.bad_outgoing"
    with pytest.raises(UsageError):
        DEFAULT_CODEC.encode({"type": "vote", "vote": {"x": 1.5}})


def test_custom_schemas() -> None:
    codec = MessageCodec({"hello": {"name": "str"}})
    assert codec.decode(codec.encode({"type": "hello", "name": "x"}))["name"] == "x"
    with pytest.raises(ValueError):
        MessageCodec({"bad": {"type": "str"}})
    with pytest.raises(ValueError):
        MessageCodec({"bad": {"x": "float"}})


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20)
    | st.sampled_from(["tx", "vote", "ping", "status", "type"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "tx", "vote", "height", "hash", "x"]) | st.text(),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_bytes_only_raise_protocol_errors(data: bytes) -> None:
    try:
        message = DEFAULT_CODEC.decode(data)
    except ProtocolError:
        return
    assert DEFAULT_CODEC.encode(message) == data


@settings(max_examples=150, deadline=None)
@given(values)
def test_fuzz_values_only_raise_protocol_errors(value: Any) -> None:
    data = encoding.encode(value)
    try:
        message = DEFAULT_CODEC.decode(data)
    except ProtocolError:
        return
    assert message == value
