"""replay: ``egov audit --home`` over a chain of the full module mix.

The chain is built with the application and development commits (fast: no
consensus, no network) into a directory laid out as a node's home. Then
``egov audit --home`` runs as its own process, once per run: it replays every
block into a fresh store, verifying every commit signature, transaction
signature, results root and state root, and compares the home's stored
results, roots, transaction index and final state with its own. The figures
are transactions and blocks per second of the whole process (start-up and
the final state comparison included), and per CPU second of that process.

    python -m bench.replay [--txs 100000] [--block 500] [--runs 1] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.devchain import build_chain, fresh_app, genesis_doc, write_home
from bench.report import Ceiling, median, summary, table
from chain.genesis import Genesis

TARGET = 10_000


def egov_command() -> list[str]:
    """The installed console script next to this interpreter, or the module."""
    script = Path(sys.executable).with_name("egov")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "cli.main"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def audit(home: Path) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, CPU seconds, JSON summary) of one ``egov audit --home``."""
    cpu_before = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [*egov_command(), "audit", "--home", str(home), "--json"],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    cpu = children_cpu() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"audit failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, cpu, json.loads(done.stdout)


def build_home(root: Path, total: int, per_block: int) -> dict[str, Any]:
    doc = genesis_doc()
    db = write_home(root, doc)
    app = fresh_app(db, Genesis.from_json(doc))
    started = time.perf_counter()
    builder = build_chain(app, total, per_block, keep=False, progress=True)
    built = {
        "height": app.height,
        "txs": builder.txs,
        "seconds": time.perf_counter() - started,
    }
    app.store.compact()
    app.store.close()
    return built


def run(total: int, per_block: int, runs: int, keep: Path | None) -> dict[str, Any]:
    ceiling = Ceiling()
    tmp = Path(tempfile.mkdtemp(prefix="egov-bench-replay-"))
    home = keep or tmp / "home"
    try:
        if keep is not None and (home / "data" / "db").is_dir():
            built = {"height": None, "txs": None, "seconds": 0.0}
        else:
            built = build_home(home, total, per_block)
        walls, cpus, result = [], [], {}
        for _ in range(runs):
            ceiling.sample()
            wall, cpu, result = audit(home)
            walls.append(wall)
            cpus.append(cpu)
        ceiling.sample()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    txs, blocks = result["transactions"], result["blocks"]
    return {
        "built": built,
        "txs": txs,
        "blocks": blocks,
        "wall": walls,
        "cpu": cpus,
        "tx_per_s": txs / median(walls),
        "blocks_per_s": blocks / median(walls),
        "cpu_tx_per_s": txs / median(cpus),
        "ceiling": ceiling.value,
        "cpu_ceiling": ceiling.cpu,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--txs", type=int, default=100_000, help="load transactions")
    parser.add_argument("--block", type=int, default=500, help="txs per block")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--keep", type=Path, help="build the chain here once and reuse it"
    )
    parser.add_argument("--quick", action="store_true", help="5,000 txs, 2 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.txs, args.runs = 5_000, 2
    fig = run(args.txs, args.block, args.runs, args.keep)
    rate, ceiling = fig["tx_per_s"], fig["ceiling"]
    table(
        f"replay: egov audit --home over {fig['blocks']:,} blocks,"
        f" {fig['txs']:,} txs (median of {args.runs} runs)",
        [
            ("ed25519 verify/s, 1 thread (ceiling)", ceiling),
            ("audit tx/s", rate),
            ("audit blocks/s", fig["blocks_per_s"]),
            ("ratio to the ceiling", rate / ceiling),
            ("audit tx per CPU second", fig["cpu_tx_per_s"]),
            ("ratio per CPU second", fig["cpu_tx_per_s"] / fig["cpu_ceiling"]),
            ("audit seconds (runs)", " ".join(f"{w:.1f}" for w in fig["wall"])),
            ("chain build seconds", fig["built"]["seconds"]),
        ],
    )
    return summary(
        "replay",
        tx_per_s=round(rate),
        blocks_per_s=round(fig["blocks_per_s"], 1),
        verify_per_s=round(ceiling),
        ratio=round(rate / ceiling, 3),
        cpu_tx_per_s=round(fig["cpu_tx_per_s"]),
        cpu_ratio=round(fig["cpu_tx_per_s"] / fig["cpu_ceiling"], 3),
        target_tx_per_s=TARGET,
        met=rate >= TARGET,
        txs=fig["txs"],
        blocks=fig["blocks"],
        runs=[round(w, 1) for w in fig["wall"]],
    )


if __name__ == "__main__":
    main()
