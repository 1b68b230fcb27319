"""What the API needs from a running node: the ``NodeView`` protocol.

The service implements it; the tests implement it over an application and a
mempool with no network. The API only reads through it, except ``submit``.
"""

from __future__ import annotations

from typing import Any, Protocol

from chain.genesis import Genesis
from chain.tx import SignedTx
from chain.validators import ValidatorSet
from node.application import Application
from node.events import EventFeed
from node.mempool import Mempool
from node.metrics import Metrics


class NodeView(Protocol):
    @property
    def app(self) -> Application: ...

    @property
    def mempool(self) -> Mempool: ...

    @property
    def genesis(self) -> Genesis: ...

    @property
    def events(self) -> EventFeed: ...

    @property
    def metrics(self) -> Metrics: ...

    def submit(self, raw: bytes) -> SignedTx:
        """Admit a transaction to the mempool and gossip it; raise TxRefused."""
        ...

    def status(self) -> dict[str, Any]:
        """Height, time, syncing, peers, mempool...: shown as given (bytes hex)."""
        ...

    def peers(self) -> list[dict[str, Any]]: ...

    def evidence(self) -> list[dict[str, Any]]:
        """Evidence seen (pending and committed), as encoded values."""
        ...

    def validators(self) -> ValidatorSet:
        """The validator set of the next height."""
        ...
