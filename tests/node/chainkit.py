"""Helpers for node tests: a dev genesis, an application on a fresh store,
commits signed by the dev validators, and blocks driven without consensus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chain.block import Block
from chain.genesis import Genesis
from chain.keys import PrivateKey, dev_key
from chain.tx import SignedTx, TxBody
from chain.votes import Commit
from node.application import Application
from node.devnet import authority_key, dev_genesis, sign_dev_commit, validator_key
from storage.store import Store


def genesis(validators: int = 4, **kw: Any) -> Genesis:
    kw.setdefault("modules", ("identity",))
    return Genesis.from_json(dev_genesis(validators, **kw))


def open_app(path: Path, gen: Genesis) -> Application:
    app = Application(Store.open(str(path)), gen)
    app.init_chain()
    return app


def sign_commit(
    block: Block, gen: Genesis, n: int | None = None, round_: int = 0
) -> Commit:
    """Precommits for ``block`` from the first ``n`` dev validators."""
    return sign_dev_commit(block, gen, n, round_)


def make_tx(
    gen: Genesis, key: PrivateKey, nonce: int, module: str, action: str, /, **args: Any
) -> SignedTx:
    return SignedTx.create(
        TxBody(gen.chain_id, module, action, args, key.public, nonce), key
    )


def enrol_txs(
    gen: Genesis, count: int, start_nonce: int = 1, prefix: str = "c"
) -> list[SignedTx]:
    """``count`` enrolments of new citizens by the identity authority."""
    admin = authority_key("authority/identity")
    return [
        make_tx(
            gen,
            admin,
            start_nonce + i,
            "identity",
            "enrol",
            key=dev_key(f"{prefix}{start_nonce + i}").public,
            name=f"Citizen {i}",
        )
        for i in range(count)
    ]


class Driver:
    """Proposes and commits blocks on one app, carrying the last commit."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.last_commit: Commit | None = app.get_commit(app.height)

    def step(self, txs: list[SignedTx]) -> Block:
        proposer = validator_key(1).public
        block = self.app.build_block(proposer, txs, self.last_commit)
        commit = sign_commit(block, self.app.genesis)
        self.app.commit(block, commit)
        self.last_commit = commit
        return block
