"""Printing figures: one table, then one JSON line; medians of several runs.

The machine is shared, so a benchmark repeats its measurement and quotes the
median run, and measures the ed25519 ceiling beside every run: the ratio of a
run to the ceiling measured next to it is steadier than either figure alone.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.ceiling import verify_rates


class Ceiling:
    """ed25519 verifications/s, one thread, sampled around the runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.cpu_samples: list[float] = []

    def sample(self, seconds: float = 0.5) -> float:
        wall, cpu = verify_rates(seconds)
        self.samples.append(wall)
        self.cpu_samples.append(cpu)
        return wall

    @property
    def value(self) -> float:
        """Per wall second: the median sample."""
        if not self.samples:
            self.sample()
        return statistics.median(self.samples)

    @property
    def cpu(self) -> float:
        """Per CPU second: the median sample."""
        if not self.cpu_samples:
            self.sample()
        return statistics.median(self.cpu_samples)


def cpu_seconds() -> float:
    """CPU seconds of this process, every thread, and of its live child
    processes (the signature workers of ``node.verifier``), from /proc."""
    total = time.process_time()
    ticks = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def table(title: str, rows: Sequence[tuple[str, Any]], width: int = 40) -> None:
    print(title)
    for label, value in rows:
        if isinstance(value, float):
            shown = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
        elif isinstance(value, int):
            shown = f"{value:,}"
        else:
            shown = str(value)
        print(f"  {label:<{width}}{shown:>16}")


def summary(bench: str, **figures: Any) -> dict[str, Any]:
    line = {"bench": bench, **figures}
    print(json.dumps(line, sort_keys=False))
    return line
