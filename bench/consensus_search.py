"""Randomized search over consensus fault schedules (the long mode).

    python -m bench.consensus_search --seeds 10000 [--start 0] [--jobs 2]
    python -m bench.consensus_search --replay SEED

Each seed draws a schedule (tests/consensus/sim.py: random_schedule): 4 or 7
validators, up to f Byzantine (silent, equivocating, invalid blocks),
crashes with restarts (some tearing the write-ahead log), partitions, loss
and jitter until a heal time; then every live honest validator must decide
two more heights within 90 s of virtual time. Every run checks agreement,
validity, no honest double-signing and no evidence against honest
validators. Prints schedules explored, decisions, virtual time and every
violation with its seed; exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections import Counter

from tests.consensus.sim import Result, random_schedule, run


def _one(seed: int) -> tuple[int, list[str], int, int, int, int, int]:
    result: Result = run(random_schedule(seed))
    s = result.schedule
    faults = len(s.crashes) + len(s.partitions) + (s.n - len(s.honest()))
    return (
        seed,
        result.violations,
        result.decisions,
        result.virtual_ms,
        result.messages,
        s.n,
        faults,
    )


def _replay(seed: int) -> int:
    result = run(random_schedule(seed))
    print(result.describe())
    print(f"timeline (ms, height): {result.timeline}")
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--replay", type=int, default=None)
    args = parser.parse_args(argv)
    if args.replay is not None:
        return _replay(args.replay)

    seeds = range(args.start, args.start + args.seeds)
    began = time.monotonic()
    explored = decisions = virtual_ms = messages = 0
    sizes: Counter[int] = Counter()
    faults: Counter[int] = Counter()
    failures: list[tuple[int, list[str]]] = []
    with multiprocessing.Pool(args.jobs) as pool:
        for seed, violations, dec, vms, msgs, n, nfaults in pool.imap_unordered(
            _one, seeds, chunksize=8
        ):
            explored += 1
            decisions += dec
            virtual_ms += vms
            messages += msgs
            sizes[n] += 1
            faults[min(nfaults, 6)] += 1
            if violations:
                failures.append((seed, violations))
                print(f"VIOLATION seed={seed}: {violations[:3]}", flush=True)
            if explored % 500 == 0:
                print(
                    f"... {explored} schedules, {len(failures)} with violations, "
                    f"{time.monotonic() - began:.0f} s",
                    flush=True,
                )
    wall = time.monotonic() - began
    safety = [
        (s, v) for s, v in failures if any(not x.startswith("liveness") for x in v)
    ]
    liveness = [(s, v) for s, v in failures if (s, v) not in safety]
    print(f"schedules explored:   {explored} (seeds {seeds.start}..{seeds.stop - 1})")
    print(f"validator counts:     {dict(sorted(sizes.items()))}")
    print(f"faults per schedule:  {dict(sorted(faults.items()))} (6 = six or more)")
    print(f"decisions (honest node x height): {decisions}")
    print(f"virtual time:         {virtual_ms / 1000 / 3600:.1f} h in total")
    print(f"messages sent:        {messages}")
    print(f"safety violations:    {len(safety)}")
    print(f"liveness violations:  {len(liveness)}")
    for seed, violations in failures[:20]:
        print(f"  seed {seed}: {violations[:2]} (replay: --replay {seed})")
    print(f"wall time:            {wall:.0f} s with {args.jobs} processes")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
