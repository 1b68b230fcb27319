"""Run a workload through the application on a fresh LevelDB store and print
the roots as JSON. Used in a subprocess, so that another process with another
hash seed must reach the same bytes.

    python -m tests.determinism.run_chain DIR < draws.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from chain.genesis import Genesis
from node.application import Application
from node.devnet import dev_genesis, sign_dev_commit, validator_key
from storage.store import Store
from tests.determinism.workload import Builder, blocks

STEP_MS = 1500


def run(path: Path, draws: list[list[int]]) -> dict[str, list[str]]:
    genesis = Genesis.from_json(dev_genesis(4))
    app = Application(Store.open(str(path)), genesis)
    app.init_chain()
    builder = Builder(genesis)
    proposer = validator_key(1).public
    last_commit = None
    roots: dict[str, list[str]] = {"state": [], "results": []}
    batches = [builder.setup()]
    for group in blocks(draws):
        batches.append(group)  # type: ignore[arg-type]
    now = genesis.genesis_time
    for i, batch in enumerate(batches):
        txs = batch if i == 0 else builder.block(batch, now)  # type: ignore[arg-type]
        block = app.build_block(proposer, txs, last_commit)
        now = block.header.time + STEP_MS  # the next block's BFT time, about
        last_commit = sign_dev_commit(block, genesis, at=now)
        app.commit(block, last_commit)
        roots["state"].append(block.header.state_root.hex())
        roots["results"].append(block.header.results_root.hex())
    app.store.close()
    return roots


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1]), json.load(sys.stdin))))
