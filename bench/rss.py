"""state growth: resident memory and commit time per block up to 1,000,000 keys.

A child process (so that its memory is its own) opens a node's store with
the node's settings and grows the state with synthetic registry records, in
blocks of ``--step`` new keys, each prepared (tree update) and committed in
one synced batch as the application commits a block. The default step,
3,000 keys, is about what the largest block writes (1,000 transactions of
about three state writes each); growing by 20,000 keys a batch, which no
block does, raised the peak from 156 to 255 MB. At checkpoints it
commits ``--probe`` standard blocks of 1,000 changes (800 rewrites of random
existing records, 200 new ones), each first reading the records it changes
as executing transactions would, and records the median commit time of
those blocks (the reads included), their tree nodes read from LevelDB (the
node cache's misses) and the CPU time of the committing thread (LevelDB
compacts in a thread of its own), the tree depth of a key, and the
process's resident memory (VmRSS, split into anonymous memory and mapped
files, which are LevelDB's table files and the libraries, and the peak
VmHWM, from /proc/self/status). The child
imports the node's service module first, so its baseline is a validator's.

The target: at most 200 MB resident at 1,000,000 keys, and a commit time
per block that grows no faster than the tree path (log2 of the key count).

    python -m bench.rss [--keys 1000000] [--step 3000] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.report import Ceiling, summary, table

RSS_TARGET_MB = 200
PROBE_UPDATES = 800
PROBE_INSERTS = 200


def proc_status_mb(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB (from /proc/<pid>/status)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[name] = int(rest.split()[0]) / 1024
    return out


def key_of(i: int) -> bytes:
    return b"registry/record/vehicles/VIN%014d" % i


def value_of(i: int, version: int) -> bytes:
    # About the size of an encoded registry record's small fields.
    return hashlib.sha256(b"%d/%d" % (i, version)).digest() * 5


def checkpoints(total: int) -> list[int]:
    marks = [10_000, 50_000, 100_000, 250_000, 500_000, 750_000, 1_000_000]
    return sorted({m for m in marks if m < total} | {total})


def child(
    total: int,
    step: int,
    probes: int,
    node_cache_mb: int | None,
    max_open_files: int | None = None,
) -> None:
    import node.service  # noqa: F401  (a validator's imports, for the baseline)
    from storage.store import Store

    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="egov-bench-rss-") as tmp:
        path = Path(tmp) / "db"
        settings: dict[str, int] = {}  # none: the node's own defaults
        if node_cache_mb is not None:
            settings["node_cache_bytes"] = node_cache_mb * 2**20
        if max_open_files is not None:
            settings["max_open_files"] = max_open_files
        store = Store.open(path, **settings)
        store.commit_genesis(store.prepare({}))
        height = 0
        keys = 0
        version = 0

        def commit(
            changes: dict[bytes, bytes | None], read: bool = False
        ) -> tuple[float, float]:
            nonlocal height
            started = time.perf_counter()
            cpu_started = time.thread_time()
            height += 1
            # A block's transactions read the records they rewrite, and the
            # application hands the values read to prepare.
            old = {key: store.state_get(key) for key in changes} if read else None
            state = store.prepare(changes, old=old)
            store.commit_block(
                height=height,
                block_hash=hashlib.sha256(b"%d" % height).digest(),
                block=b"",
                commit=b"",
                txids=[],
                results=b"",
                state=state,
            )
            return time.perf_counter() - started, time.thread_time() - cpu_started

        print(json.dumps({"baseline": proc_status_mb()}), flush=True)
        for mark in checkpoints(total):
            grow_s = 0.0
            while keys < mark:
                n = min(step, mark - keys)
                grow_s += commit(
                    {key_of(keys + i): value_of(keys + i, 0) for i in range(n)}
                )[0]
                keys += n
            times = []
            cpu_times = []
            reads = []
            for _ in range(probes):
                version += 1
                changes: dict[bytes, bytes | None] = {}
                for _ in range(PROBE_UPDATES):
                    i = rng.randrange(keys)
                    changes[key_of(i)] = value_of(i, version)
                for i in range(PROBE_INSERTS):
                    changes[key_of(keys + i)] = value_of(keys + i, 0)
                keys += PROBE_INSERTS
                reads_before = store.node_reads
                wall, cpu = commit(changes, read=True)
                times.append(wall)
                cpu_times.append(cpu)
                reads.append(store.node_reads - reads_before)
            depth = store.prove(key_of(rng.randrange(keys))).depth
            print(
                json.dumps(
                    {
                        "keys": keys,
                        "commit_ms": statistics.median(times) * 1000,
                        "cpu_ms": statistics.median(cpu_times) * 1000,
                        "node_reads": statistics.median(reads),
                        "depth": depth,
                        "grow_s": grow_s,
                        **proc_status_mb(),
                    }
                ),
                flush=True,
            )
        store.close()


def run(
    total: int,
    step: int,
    probes: int,
    node_cache_mb: int | None,
    max_open_files: int | None = None,
) -> dict[str, Any]:
    ceiling = Ceiling()
    ceiling.sample()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.rss",
            "--child",
            "--keys",
            str(total),
            "--step",
            str(step),
            "--probes",
            str(probes),
            *([] if node_cache_mb is None else ["--node-cache-mb", str(node_cache_mb)]),
            *(
                []
                if max_open_files is None
                else ["--max-open-files", str(max_open_files)]
            ),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the state child failed: {proc.stderr[-2000:]}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line]
    ceiling.sample()
    return {
        "baseline": lines[0]["baseline"],
        "points": lines[1:],
        "ceiling": ceiling.value,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--step", type=int, default=3_000, help="keys a growth block")
    parser.add_argument("--probes", type=int, default=5, help="blocks a checkpoint")
    parser.add_argument(
        "--node-cache-mb", type=int, help="the store's tree node cache [node default]"
    )
    parser.add_argument(
        "--max-open-files",
        type=int,
        help="LevelDB's open (mapped) table files [node default]",
    )
    parser.add_argument("--quick", action="store_true", help="100,000 keys")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.keys = 100_000
    if args.child:
        child(
            args.keys, args.step, args.probes, args.node_cache_mb, args.max_open_files
        )
        return {}
    fig = run(
        args.keys, args.step, args.probes, args.node_cache_mb, args.max_open_files
    )
    points = fig["points"]
    first, last = points[0], points[-1]
    growth = last["commit_ms"] / first["commit_ms"]
    cpu_growth = last["cpu_ms"] / first["cpu_ms"]
    path_growth = math.log2(last["keys"]) / math.log2(first["keys"])
    print(
        f"state: RSS and commit time of a 1,000-change block as the state grows"
        f" (ceiling {fig['ceiling']:,.0f} ed25519 verify/s, 1 thread)"
    )
    print(
        f"  {'keys':>10} {'depth':>6} {'commit ms':>10} {'CPU ms':>7} {'reads':>6}"
        f" {'RSS MB':>8}"
        f" {'anon MB':>8} {'file MB':>8} {'peak MB':>8}"
    )
    for p in points:
        print(
            f"  {p['keys']:>10,} {p['depth']:>6} {p['commit_ms']:>10.1f}"
            f" {p['cpu_ms']:>7.1f} {p['node_reads']:>6,.0f}"
            f" {p['VmRSS']:>8.1f} {p['RssAnon']:>8.1f} {p['RssFile']:>8.1f}"
            f" {p['VmHWM']:>8.1f}"
        )
    table(
        "",
        [
            ("baseline RSS MB (imports, empty store)", fig["baseline"]["VmRSS"]),
            (f"commit time growth {first['keys']:,} -> {last['keys']:,}", growth),
            ("commit CPU time growth over the same range", cpu_growth),
            ("log2 path growth over the same range", path_growth),
        ],
    )
    rss_met = last["VmHWM"] <= RSS_TARGET_MB
    return summary(
        "state",
        keys=last["keys"],
        node_cache_mb=args.node_cache_mb or "default",
        max_open_files=args.max_open_files or "default",
        rss_mb=round(last["VmRSS"], 1),
        anon_mb=round(last["RssAnon"], 1),
        file_mb=round(last["RssFile"], 1),
        peak_rss_mb=round(last["VmHWM"], 1),
        rss_target_mb=RSS_TARGET_MB,
        rss_met=rss_met,
        commit_ms_first=round(first["commit_ms"], 1),
        commit_ms_last=round(last["commit_ms"], 1),
        commit_growth=round(growth, 2),
        commit_cpu_ms_first=round(first["cpu_ms"], 1),
        commit_cpu_ms_last=round(last["cpu_ms"], 1),
        commit_cpu_growth=round(cpu_growth, 2),
        log_path_growth=round(path_growth, 2),
        commit_met=growth <= path_growth * 1.25,
        verify_per_s=round(fig["ceiling"]),
        points=[
            {k: round(v, 1) if isinstance(v, float) else v for k, v in p.items()}
            for p in points
        ],
    )


if __name__ == "__main__":
    main()
