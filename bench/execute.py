"""execute: signed transactions applied and committed through the application.

One node, no network, no consensus: the figure is what the application
(decode, signature, enrolment, nonce, module rules, state root, one synced
LevelDB batch per block) sustains, beside the single-thread ed25519 verify
rate measured in the same run.

    python -m bench.execute [--txs 20000] [--block 2000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.ceiling import verify_rate
from bench.workload import Workload
from chain.block import Block
from chain.genesis import Genesis
from chain.tx import SignedTx
from node.application import Application
from node.devnet import dev_genesis, sign_dev_commit, validator_key
from storage.store import Store


def run(total: int, per_block: int) -> dict[str, float]:
    genesis = Genesis.from_json(dev_genesis(4, modules=("identity",)))
    with tempfile.TemporaryDirectory() as tmp:
        app = Application(Store.open(str(Path(tmp) / "db")), genesis)
        app.init_chain()
        work = Workload(genesis)
        last_commit = None
        setup = work.setup_txs()
        for start in range(0, len(setup), per_block):
            block = app.build_block(
                validator_key(1).public, setup[start : start + per_block], last_commit
            )
            last_commit = sign_dev_commit(block, genesis)
            app.commit(block, last_commit)
        raws = [tx.raw for tx in work.load_txs(total)]
        committed = 0
        start_time = time.perf_counter()
        for start in range(0, len(raws), per_block):
            # The full path of a block received from a peer: decode, verify,
            # execute, compare roots, commit.
            txs = [SignedTx.decode(raw) for raw in raws[start : start + per_block]]
            proposal = app.build_block(validator_key(1).public, txs, last_commit)
            block = Block.decode(proposal.encode())
            app._executed.clear()
            last_commit = sign_dev_commit(block, genesis)
            app.commit(block, last_commit)
            committed += len(block.txs)
        elapsed = time.perf_counter() - start_time
        ok = (
            sum(1 for h in range(1, app.height + 1) for r in app.get_results(h) if r.ok)
            - app.height
        )
        app.store.close()
    return {
        "txs": committed,
        "seconds": elapsed,
        "tx_per_s": committed / elapsed,
        "ok_results": ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--txs", type=int, default=20_000)
    parser.add_argument("--block", type=int, default=2_000)
    args = parser.parse_args()
    ceiling = verify_rate()
    figures = run(args.txs, args.block)
    ratio = figures["tx_per_s"] / ceiling
    print(f"{'figure':<34}{'value':>14}")
    print(f"{'ed25519 verify/s (1 thread)':<34}{ceiling:>14,.0f}")
    print(f"{'transactions committed':<34}{figures['txs']:>14,}")
    print(f"{'transactions ok':<34}{figures['ok_results']:>14,}")
    print(f"{'execute tx/s':<34}{figures['tx_per_s']:>14,.0f}")
    print(f"{'ratio to verify ceiling':<34}{ratio:>14.3f}")
    print(
        json.dumps(
            {
                "bench": "execute",
                "tx_per_s": round(figures["tx_per_s"]),
                "verify_per_s": round(ceiling),
                "ratio": round(ratio, 3),
                "txs": figures["txs"],
                "block_txs": args.block,
            }
        )
    )


if __name__ == "__main__":
    main()
