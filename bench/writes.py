"""writes: LevelDB batches shaped like blocks, by memtable size.

Each batch is what a block of about five transactions writes: 200 new tree
nodes (keys are hashes, so each batch lands all over the key space), 20
state values and the block itself; one batch in 100 is synced. The figures
are the mean and the worst write for each ``write_buffer_size``: the worst
is where LevelDB stopped writes while compaction caught up with level 0.
This is what chose ``storage.store.DEFAULT_WRITE_BUFFER_BYTES`` and
``DEFAULT_COMPRESSION``.

    python -m bench.writes [--batches 6000] [--mb 4,8,16] [--compression snappy]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from bench.report import Ceiling, summary, table
from storage.store import DEFAULT_COMPRESSION, open_leveldb


def one_run(
    batches: int, write_buffer: int, compression: str | None = DEFAULT_COMPRESSION
) -> tuple[float, float]:
    """(mean, worst) seconds per write over ``batches`` block-shaped batches."""
    with tempfile.TemporaryDirectory(prefix="egov-bench-writes-") as tmp:
        db = open_leveldb(tmp, write_buffer_bytes=write_buffer, compression=compression)
        total = worst = 0.0
        for n in range(batches):
            batch = db.write_batch(sync=n % 100 == 99)
            prefix = n.to_bytes(4, "big")
            for i in range(200):
                digest = hashlib.sha256(prefix + i.to_bytes(2, "big")).digest()
                batch.put(b"N" + digest, b"\x01" + digest + digest)
            for i in range(20):
                key = hashlib.sha256(i.to_bytes(2, "big")).digest()
                batch.put(b"S" + key, prefix * 30)
            batch.put(b"B" + prefix, bytes(3000))
            started = time.perf_counter()
            batch.write()
            spent = time.perf_counter() - started
            total += spent
            worst = max(worst, spent)
        db.close()
    return total / batches, worst


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=6_000)
    parser.add_argument("--mb", default="4,8,16", help="memtable sizes, MiB")
    parser.add_argument(
        "--compression", default=DEFAULT_COMPRESSION, help="snappy, or none"
    )
    args = parser.parse_args(argv)
    compression = None if args.compression in (None, "none") else args.compression
    ceiling = Ceiling()
    ceiling.sample()
    rows: list[tuple[str, Any]] = []
    figures: dict[str, dict[str, float]] = {}
    for mb in (int(x) for x in args.mb.split(",")):
        mean, worst = one_run(args.batches, mb << 20, compression)
        rows.append((f"{mb} MiB: mean write us", mean * 1e6))
        rows.append((f"{mb} MiB: worst write ms", worst * 1e3))
        figures[str(mb)] = {
            "mean_us": round(mean * 1e6),
            "worst_ms": round(worst * 1e3, 1),
        }
    ceiling.sample()
    rows.insert(0, ("ed25519 verify/s, 1 thread (ceiling)", ceiling.value))
    table(
        f"writes: {args.batches:,} block-shaped LevelDB batches,"
        f" compression {compression or 'none'}",
        rows,
    )
    return summary(
        "writes",
        batches=args.batches,
        compression=compression or "none",
        verify_per_s=round(ceiling.value),
        **figures,
    )


if __name__ == "__main__":
    main()
