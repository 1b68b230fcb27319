"""A development chain built fast: the application directly, dev commits.

The proposer's side of the benchmarks: blocks are built with
``Application.build_block`` (which executes them once) and decided by
``node.devnet.sign_dev_commit``, with no consensus and no network. What the
benchmarks then measure is a *second* node receiving those blocks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.workload import Workload
from chain.encoding import forget_known
from chain.genesis import Genesis
from chain.keys import forget_verified
from chain.tx import SignedTx
from chain.votes import Commit
from node.application import Application
from node.config import Home
from node.devnet import dev_genesis, sign_dev_commit, validator_key
from storage.store import Store


def genesis_doc() -> dict[str, Any]:
    return dev_genesis(4)


def forget_memos() -> None:
    """Forget what this process remembers of values and signatures it has
    seen, so that a node measured here meets the blocks it receives for the
    first time, as a node in another process would."""
    forget_known()
    forget_verified()


def fresh_app(path: Path, genesis: Genesis) -> Application:
    app = Application(Store.open(path), genesis)
    app.init_chain()
    return app


@dataclass
class Record:
    """A decided block as a peer would send it."""

    block: bytes
    commit: bytes
    txs: int


@dataclass
class Builder:
    """Builds blocks on ``app`` and keeps (block, commit) bytes if asked."""

    app: Application
    keep: bool = True
    records: list[Record] = field(default_factory=list)
    last_commit: Commit | None = None
    txs: int = 0
    failed: int = 0

    def add_block(self, txs: list[SignedTx]) -> None:
        app = self.app
        proposer = validator_key(1 + app.height % len(app.validators)).public
        block = app.build_block(proposer, txs, self.last_commit)
        if len(block.txs) != len(txs):
            raise RuntimeError(
                f"block {block.height}: {len(txs) - len(block.txs)} invalid txs"
            )
        commit = sign_dev_commit(block, app.genesis)
        # Nothing measured reads the builder's store before it is closed: its
        # writes need no sync (storage.store invariant 1).
        executed = app.commit(block, commit, sync=False)
        self.failed += sum(1 for r in executed.results[:-1] if not r.ok)
        self.last_commit = commit
        self.txs += len(block.txs)
        if self.keep:
            self.records.append(Record(block.encode(), commit.encode(), len(txs)))


def workload_blocks(
    work: Workload, total: int, per_block: int
) -> Iterator[list[SignedTx]]:
    """The setup block, the opening block, then ``total`` txs in blocks."""
    yield work.setup_txs()
    yield work.open_txs()
    done = 0
    while done < total:
        n = min(per_block, total - done)
        yield work.load_txs(n)
        done += n


def build_chain(
    app: Application,
    total: int,
    per_block: int,
    *,
    keep: bool = True,
    citizens: int = 2000,
    progress: bool = False,
) -> Builder:
    """A chain with the setup, then ``total`` load txs, ``per_block`` a block.

    ``per_block`` 0 means empty blocks: ``total`` is then a block count.
    """
    builder = Builder(app, keep)
    work = Workload(app.genesis, citizens, planned=total)
    started = time.monotonic()
    if per_block == 0:
        blocks = iter([work.setup_txs(), work.open_txs()] + [[]] * total)
    else:
        blocks = workload_blocks(work, total, per_block)
    for i, txs in enumerate(blocks):
        builder.add_block(txs)
        if progress and i % 500 == 0 and i:
            print(
                f"  built height={app.height} txs={builder.txs}"
                f" ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    if builder.failed:
        raise RuntimeError(f"{builder.failed} transactions failed while building")
    return builder


def write_home(root: Path, doc: dict[str, Any]) -> Path:
    """A directory ``egov audit --home`` accepts: genesis.json and data/db."""
    home = Home(root)
    home.db.parent.mkdir(parents=True, exist_ok=True)
    home.genesis.write_text(json.dumps(doc, indent=2) + "\n")
    return home.db
