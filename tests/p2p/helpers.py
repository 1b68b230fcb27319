"""Shared pieces of the p2p tests: keys, fast settings, running managers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import trio

from chain.keys import PrivateKey
from p2p.errors import P2PError
from p2p.handshake import Session, handshake
from p2p.peers import P2PSettings, PeerManager

CHAIN = "egov-test"

FAST = P2PSettings(
    handshake_timeout=2.0,
    ping_interval=0.2,
    idle_timeout=3.0,
    backoff_initial=0.02,
    backoff_max=0.2,
)


def keys(n: int) -> list[PrivateKey]:
    return [PrivateKey.generate() for _ in range(n)]


def make_manager(
    key: PrivateKey,
    allowed: Iterable[PrivateKey],
    *,
    peers: Iterable[str] = (),
    port: int = 0,
    settings: P2PSettings = FAST,
    chain_id: str = CHAIN,
) -> PeerManager:
    return PeerManager(
        node_key=key,
        chain_id=chain_id,
        allowed_keys=[k.public for k in allowed],
        peers=peers,
        port=port,
        settings=settings,
    )


def address_of(manager: PeerManager) -> str:
    return f"{manager.public_key.hex()}@127.0.0.1:{manager.port}"


@asynccontextmanager
async def running(*managers: PeerManager) -> AsyncIterator[list[PeerManager]]:
    """Run the managers for the duration of the block, then cancel them."""
    async with trio.open_nursery() as nursery:
        for manager in managers:
            await nursery.start(manager.run)
        yield list(managers)
        nursery.cancel_scope.cancel()


async def dial(
    key: PrivateKey,
    manager: PeerManager,
    allowed: Iterable[PrivateKey],
    **kwargs: Any,
) -> Session:
    """Open a raw authenticated session to ``manager``, as a test peer."""
    stream = await trio.open_tcp_stream("127.0.0.1", manager.port)
    try:
        return await handshake(
            stream,
            node_key=key,
            chain_id=kwargs.pop("chain_id", CHAIN),
            allowed=[k.public for k in allowed],
            dialer=True,
            **kwargs,
        )
    except P2PError:
        await trio.aclose_forcefully(stream)
        raise


async def next_message(manager: PeerManager) -> tuple[bytes, dict[str, Any]]:
    return await manager.incoming.receive()
