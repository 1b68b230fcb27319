"""``python -m bench``: every benchmark, then one table of the figures.

Runs execute, localnet, replay, catchup and state (``bench.rss``) with their
default sizes (``--quick`` for small ones, ``--only execute,replay`` for a
subset), each printing its own table and JSON line; then a summary table of
each figure beside the ed25519 ceiling measured in that benchmark's run, and
the issue's targets as met or missed. The last line is a JSON object with
every benchmark's summary.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench import catchup, execute, localnet, replay, rss

BENCHES: dict[str, Callable[[Sequence[str] | None], dict[str, Any]]] = {
    "execute": execute.main,
    "localnet": localnet.main,
    "replay": replay.main,
    "catchup": catchup.main,
    "state": rss.main,
}


def overview(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(bench, figure, ceiling and ratio, target) rows."""
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append((name, f"failed: {r['error']}", "", ""))
            continue
        ceiling = f"{r['verify_per_s']:,} verify/s"
        if name == "execute":
            rows.append(
                (
                    name,
                    f"{r['tx_per_s']:,} tx/s",
                    f"{ceiling}, ratio {r['ratio']}",
                    f">= 8,000 tx/s: {_met(r['met'])}",
                )
            )
        elif name == "localnet":
            met = r["met"]
            rows.append(
                (
                    name,
                    f"{r['committed_tx_per_s']:,} tx/s committed;"
                    f" p50 {r['p50_s_first']} s at {r['first_rate']:.0f} tx/s;"
                    f" p99 {r['p99_s_at_80']} s at {r['rate_at_80']} tx/s;"
                    f" peak RSS {max(r['peak_rss_mb'])} MB",
                    f"{ceiling}, ratio {r['ratio']}",
                    f">= 1,500 tx/s: {_met(met['committed'])};"
                    f" p50 <= 0.5 s: {_met(met['p50'])};"
                    f" p99 <= 1.5 s: {_met(met['p99'])}",
                )
            )
        elif name in ("replay", "catchup"):
            target = "10,000" if name == "replay" else "5,000"
            rows.append(
                (
                    name,
                    f"{r['tx_per_s']:,} tx/s, {r['blocks_per_s']} blocks/s",
                    f"{ceiling}, ratio {r['ratio']}",
                    f">= {target} tx/s: {_met(r['met'])}",
                )
            )
        elif name == "state":
            rows.append(
                (
                    name,
                    f"{r['keys']:,} keys: RSS {r['rss_mb']} MB"
                    f" (peak {r['peak_rss_mb']}); commit x{r['commit_growth']}"
                    f" vs log path x{r['log_path_growth']}",
                    ceiling,
                    f"RSS <= 200 MB: {_met(r['rss_met'])};"
                    f" commit ~ log: {_met(r['commit_met'])}",
                )
            )
    return rows


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--only", help="comma-separated subset of " + ",".join(BENCHES))
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHES)
    results: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        try:
            results[name] = BENCHES[name](["--quick"] if args.quick else [])
        except Exception as exc:  # one failure must not hide the other figures
            results[name] = {"bench": name, "error": f"{type(exc).__name__}: {exc}"}
            print(f"{name} failed: {exc}", flush=True)
    print(f"\n=== summary ({time.monotonic() - started:.0f} s) ===")
    for name, figure, ceiling, target in overview(results):
        print(f"{name:<9} {figure}")
        print(f"{'':<9} ceiling: {ceiling}")
        print(f"{'':<9} target: {target}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
