"""Peer addresses: ``nodekey@host:port``."""

from __future__ import annotations

import pytest

from p2p.address import PeerAddress
from p2p.errors import UsageError

KEY = bytes(range(32))


def test_parse_and_print() -> None:
    text = f"{KEY.hex()}@10.0.0.7:26656"
    address = PeerAddress.parse(text)
    assert address == PeerAddress(KEY, "10.0.0.7", 26656)
    assert str(address) == text


def test_ipv6_in_brackets() -> None:
    address = PeerAddress.parse(f"{KEY.hex()}@[::1]:9000")
    assert (address.host, address.port) == ("::1", 9000)
    assert address.hostport == "[::1]:9000"


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1:9000",
        f"{KEY.hex()}@127.0.0.1",
        f"{KEY.hex()}@:9000",
        f"{KEY.hex()}@host:0",
        f"{KEY.hex()}@host:70000",
        f"{KEY.hex()}@host:port",
        f"{KEY.hex()[:-2]}@host:1",
        f"zz{KEY.hex()[2:]}@host:1",
    ],
)
def test_refuses_malformed(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        PeerAddress.parse(text)
    assert caught.value.code == "p2p.bad_address"
