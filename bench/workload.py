"""Signed transactions for benchmarks, on the development chain.

``setup_txs`` enrols the citizens (signed by the dev identity authority);
``load_txs`` is the measured mix. Nonces are tracked here, so the lists are
valid in order on a fresh chain.
"""

from __future__ import annotations

from typing import Any

from chain.genesis import Genesis
from chain.keys import PrivateKey, dev_key
from chain.tx import SignedTx, TxBody
from node.devnet import authority_key


class Workload:
    def __init__(self, genesis: Genesis, citizens: int = 1000) -> None:
        self.genesis = genesis
        self.citizens = [dev_key(f"bench/citizen/{i}") for i in range(citizens)]
        self.nonces: dict[bytes, int] = {}
        self.rotations = 0

    def sign(
        self, key: PrivateKey, module: str, action: str, /, **args: Any
    ) -> SignedTx:
        nonce = self.nonces.get(key.public, 0) + 1
        self.nonces[key.public] = nonce
        body = TxBody(self.genesis.chain_id, module, action, args, key.public, nonce)
        return SignedTx.create(body, key)

    def setup_txs(self) -> list[SignedTx]:
        admin = authority_key("authority/identity")
        return [
            self.sign(
                admin,
                "identity",
                "enrol",
                key=key.public,
                name=f"Citizen {i}",
                attributes={"region": "kyiv" if i % 2 else "lviv"},
            )
            for i, key in enumerate(self.citizens)
        ]

    def load_txs(self, count: int) -> list[SignedTx]:
        out = []
        for i in range(count):
            slot = i % len(self.citizens)
            key = self.citizens[slot]
            self.rotations += 1
            fresh = dev_key(f"bench/rotated/{self.rotations}")
            out.append(self.sign(key, "identity", "rotate_key", new_key=fresh.public))
            self.citizens[slot] = fresh
        return out
