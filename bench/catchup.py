"""catchup: a validator that missed N blocks rejoins through block sync.

A source node holds a chain of ``--blocks`` blocks of the full module mix
(built with the application and development commits). A fresh node then
runs ``node.sync.catch_up`` against it: batches of (block, commit) pairs as
``node.sync.serve_blocks`` answers a peer, carried as one canonical message
per batch (encoded by the source, decoded by the receiver, as on the wire),
each batch applied by ``apply_batch``: the signatures of the batch verified
ahead in threads, each commit verified against the validator set, each block
validated (structure, BFT time, every transaction signature) and re-executed
to its results root and state root, then written, with one synced write at
the end of the batch. Figures: transactions and blocks synced and verified
per second, beside the verify ceiling measured in the same run.

    python -m bench.catchup [--blocks 10000] [--block-txs 5] [--runs 1] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio

from bench.devchain import build_chain, forget_memos, fresh_app, genesis_doc
from bench.report import Ceiling, cpu_seconds, median, summary, table
from chain import encoding
from chain.genesis import Genesis
from node.application import Application
from node.sync import MAX_BATCH, catch_up, serve_blocks

TARGET = 5_000


def sync_once(source: Application, target: Application) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, txs) for ``target`` to reach ``source``."""

    async def fetch(start: int, count: int) -> list[tuple[bytes, bytes]]:
        wire = encoding.encode(serve_blocks(source, start, count))
        return [(pair[0], pair[1]) for pair in encoding.decode(wire)]

    async def main() -> int:
        progress = await catch_up(target, fetch, source.height, batch=MAX_BATCH)
        return progress.txs

    cpu = cpu_seconds()
    started = time.perf_counter()
    txs = trio.run(main)
    return time.perf_counter() - started, cpu_seconds() - cpu, txs


def run(blocks: int, block_txs: int, runs: int) -> dict[str, Any]:
    genesis = Genesis.from_json(genesis_doc())
    ceiling = Ceiling()
    with tempfile.TemporaryDirectory(prefix="egov-bench-catchup-") as tmp:
        source = fresh_app(Path(tmp) / "source", genesis)
        started = time.perf_counter()
        # Two blocks set the chain up (enrolments, petitions); the rest carry
        # the mix, ``block_txs`` each.
        build_chain(
            source, (blocks - 2) * block_txs, block_txs, keep=False, progress=True
        )
        build_s = time.perf_counter() - started
        walls, cpus, txs = [], [], 0
        for i in range(runs):
            ceiling.sample()
            forget_memos()
            target = fresh_app(Path(tmp) / f"target{i}", genesis)
            wall, cpu, txs = sync_once(source, target)
            if target.store.state_root != source.store.state_root:
                raise RuntimeError("the synced state differs from the source's")
            target.store.close()
            walls.append(wall)
            cpus.append(cpu)
        ceiling.sample()
        height = source.height
        source.store.close()
    return {
        "blocks": height,
        "txs": txs,
        "wall": walls,
        "tx_per_s": txs / median(walls),
        "blocks_per_s": height / median(walls),
        "cpu_tx_per_s": txs / median(cpus),
        "ceiling": ceiling.value,
        "cpu_ceiling": ceiling.cpu,
        "build_s": build_s,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--block-txs", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="500 blocks, 2 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.blocks, args.runs = 500, 2
    fig = run(args.blocks, args.block_txs, args.runs)
    rate, ceiling = fig["tx_per_s"], fig["ceiling"]
    table(
        f"catchup: {fig['blocks']:,} missed blocks, {fig['txs']:,} txs,"
        f" {args.block_txs} load txs a block (median of {args.runs} runs)",
        [
            ("ed25519 verify/s, 1 thread (ceiling)", ceiling),
            ("synced and verified tx/s", rate),
            ("synced blocks/s", fig["blocks_per_s"]),
            ("ratio to the ceiling", rate / ceiling),
            ("tx per CPU second", fig["cpu_tx_per_s"]),
            ("ratio per CPU second", fig["cpu_tx_per_s"] / fig["cpu_ceiling"]),
            ("sync seconds (runs)", " ".join(f"{w:.1f}" for w in fig["wall"])),
            ("chain build seconds", fig["build_s"]),
        ],
    )
    return summary(
        "catchup",
        tx_per_s=round(rate),
        blocks_per_s=round(fig["blocks_per_s"], 1),
        verify_per_s=round(ceiling),
        ratio=round(rate / ceiling, 3),
        cpu_tx_per_s=round(fig["cpu_tx_per_s"]),
        cpu_ratio=round(fig["cpu_tx_per_s"] / fig["cpu_ceiling"], 3),
        target_tx_per_s=TARGET,
        met=rate >= TARGET,
        blocks=fig["blocks"],
        txs=fig["txs"],
        runs=[round(w, 1) for w in fig["wall"]],
    )


if __name__ == "__main__":
    main()
