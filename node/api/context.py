"""What every handler reaches through its request: the node and the limits."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from chain.tx import MAX_TX_BYTES
from node.api.view import NodeView


@dataclass(frozen=True)
class ApiLimits:
    # A single transaction's body: room for a transaction a little over the
    # limit, so that it is refused as tx.too_large, not as a large request.
    tx_body: int = 4 * MAX_TX_BYTES
    batch_body: int = 16 * 1024 * 1024
    batch_txs: int = 1000
    page_blocks: int = 100
    page_bytes: int = 16 * 1024 * 1024  # a block page stops after this much
    feed_blocks: int = 100  # blocks of events per answer
    poll_timeout: float = 30.0
    keepalive: float = 15.0  # seconds between comments on an idle stream


@dataclass(frozen=True)
class ApiContext:
    node: NodeView
    limits: ApiLimits


def context(request: Request) -> ApiContext:
    ctx = request.app.state.api
    assert isinstance(ctx, ApiContext)
    return ctx
