"""Peer addresses as the configuration writes them: ``nodekey@host:port``.

``nodekey`` is the peer's ed25519 node public key in hex (64 characters);
an IPv6 host is written in brackets: ``<key>@[::1]:26656``.
"""

from __future__ import annotations

from dataclasses import dataclass

from p2p.errors import UsageError


@dataclass(frozen=True)
class PeerAddress:
    node_key: bytes
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> PeerAddress:
        key_hex, at, hostport = text.strip().partition("@")
        if not at:
            raise UsageError(
                f"peer {text!r} is not nodekey@host:port", code="p2p.bad_address"
            )
        try:
            key = bytes.fromhex(key_hex)
        except ValueError as exc:
            raise UsageError(
                f"peer {text!r}: node key is not hex", code="p2p.bad_address"
            ) from exc
        if len(key) != 32:
            raise UsageError(
                f"peer {text!r}: node key must be 32 bytes", code="p2p.bad_address"
            )
        host, colon, port_text = hostport.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not colon or not host or not port_text.isdigit():
            raise UsageError(
                f"peer {text!r}: expected host:port after @", code="p2p.bad_address"
            )
        port = int(port_text)
        if not 0 < port < 65536:
            raise UsageError(
                f"peer {text!r}: port out of range", code="p2p.bad_address"
            )
        return cls(key, host, port)

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.node_key.hex()}@{self.hostport}"
