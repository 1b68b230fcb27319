"""localnet: 4 validators as processes on this machine, open-loop load.

Four ``egov start`` processes on loopback (development keys, homes made as
``egov localnet`` makes them) run consensus for real. A load generator
enrols the workload's citizens and opens its auctions, ballots and
petitions, then offers the full module mix open loop: every 100 ms it
submits the transactions due by then, pre-signed, in batches over
``POST /v1/txs``, whatever the nodes answer. Each sender's transactions go
to one node (chosen by its key), so its nonces arrive in order; there are
thousands of senders, so nonces do not serialise the load.

Rates go up in steps (``--rates``, then x1.5 each step) until the network
saturates: in the steady part of a step (after 2 s) it commits less than
90 % of what is offered, or it refuses transactions. Each step lasts
``--seconds`` and is then drained; the next step starts once every batch
is posted and every mempool is empty, so that a saturated step's backlog
does not spill into it. A last step offers 80 % of the best
committed rate, on a fresh network if any transaction was refused (a
refused transaction leaves its sender's later ones invalid). For every
step: committed tx/s, submit-to-commit latency p50/p99 (a transaction
is committed when its id appears in node 1's event feed, long-polled),
blocks/s, and per node the CPU used (from
/proc/<pid>/stat) and the resident memory (VmRSS, and the peak VmHWM at the
end, from /proc/<pid>/status).

    python -m bench.localnet [--seconds 30] [--rates 100] [--quick]
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.report import Ceiling, summary, table
from bench.workload import Workload
from chain.genesis import Genesis
from chain.tx import SignedTx
from cli.localnet import create_homes
from node.config import Config, Home
from node.devnet import dev_genesis

TICK = 0.1
VALIDATORS = 4
TARGET_TX_PER_S = 1500
TARGET_P50_S = 0.5
TARGET_P99_S = 1.5


# --- the nodes ----------------------------------------------------------------


@dataclass
class NodeProc:
    home: Path
    api: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    def memory_mb(self) -> dict[str, float]:
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(rest.split()[0]) / 1024
        return out


def egov_command() -> list[str]:
    script = Path(sys.executable).with_name("egov")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "cli.main"]


def start_nodes(root: Path, doc: dict[str, Any]) -> list[NodeProc]:
    homes = create_homes(root, VALIDATORS, doc)
    nodes = []
    for home in homes:
        config = Config.load(Home(home).config)
        log = (home / "node.log").open("ab")
        process = subprocess.Popen(
            [*egov_command(), "start", "--home", str(home)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        nodes.append(NodeProc(home, f"http://{config.api_listen}", process))
    return nodes


def stop_nodes(nodes: Sequence[NodeProc]) -> None:
    for node in nodes:
        if node.process.poll() is None:
            node.process.terminate()
    for node in nodes:
        try:
            node.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()


def status(client: httpx.Client, node: NodeProc) -> dict[str, Any]:
    answer = client.get(f"{node.api}/v1/status", timeout=5)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def wait_height(
    client: httpx.Client, nodes: Sequence[NodeProc], height: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if all(status(client, n)["height"] >= height for n in nodes):
                return
        except httpx.HTTPError:
            pass
        for node in nodes:
            if node.process.poll() is not None:
                raise RuntimeError(f"{node.home.name} exited; see its node.log")
        time.sleep(0.2)
    raise RuntimeError(f"the network did not reach height {height} in {timeout} s")


# --- watching commits -----------------------------------------------------------


class Watcher(threading.Thread):
    """Long-polls node 1's event feed; notes when each tx id is first seen."""

    def __init__(self, api: str, start_height: int) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.cursor = start_height
        self.seen: dict[str, float] = {}
        self.heights: list[tuple[float, int]] = []
        self.stopping = False
        self.lock = threading.Lock()

    def run(self) -> None:
        with httpx.Client(timeout=15) as client:
            while not self.stopping:
                try:
                    answer = client.get(
                        f"{self.api}/v1/events",
                        params={"after": self.cursor, "timeout": 2},
                    )
                    answer.raise_for_status()
                    part = answer.json()
                except httpx.HTTPError:
                    time.sleep(0.2)
                    continue
                now = time.monotonic()
                with self.lock:
                    for event in part["events"]:
                        tx = event["tx"]
                        if tx is not None and tx not in self.seen:
                            self.seen[tx] = now
                    if part["height"] > self.cursor:
                        self.heights.append((now, part["height"]))
                self.cursor = part["height"]

    def committed(self, ids: Sequence[str]) -> int:
        with self.lock:
            return sum(1 for i in ids if i in self.seen)

    def height_at(self, moment: float) -> int:
        with self.lock:
            best = 0
            for when, height in self.heights:
                if when <= moment:
                    best = height
            return best


def wait_committed(watcher: Watcher, ids: Sequence[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if watcher.committed(ids) == len(ids):
            return True
        time.sleep(0.2)
    return False


# --- submitting -------------------------------------------------------------------


class Submitter(threading.Thread):
    """Posts batches to one node, in the order queued; counts refusals."""

    def __init__(self, api: str) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.queue: queue.Queue[list[SignedTx] | None] = queue.Queue()
        self.refused: dict[str, int] = {}
        self.accepted = 0

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while True:
                batch = self.queue.get()
                if batch is None:
                    return
                self.post(client, batch)
                self.queue.task_done()

    def post(self, client: httpx.Client, batch: list[SignedTx]) -> None:
        for start in range(0, len(batch), 1000):
            part = batch[start : start + 1000]
            try:
                answer = client.post(
                    f"{self.api}/v1/txs",
                    json={"txs": [tx.raw.hex() for tx in part]},
                )
                results = answer.json()["results"]
            except (httpx.HTTPError, KeyError, ValueError):
                self.refused["http"] = self.refused.get("http", 0) + len(part)
                continue
            for result in results:
                if result["accepted"]:
                    self.accepted += 1
                else:
                    code = result["code"]
                    self.refused[code] = self.refused.get(code, 0) + 1


def wait_posted(submitters: Sequence[Submitter], timeout: float) -> None:
    """Until every batch queued so far has been posted (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    for s in submitters:
        while s.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.1)


def settle(
    client: httpx.Client,
    submitters: Sequence[Submitter],
    nodes: Sequence[NodeProc],
    timeout: float,
) -> int:
    """Wait until everything queued is posted and every mempool is empty, so
    that a step after a saturated one starts clean; what is still pending
    in the mempools when ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    wait_posted(submitters, timeout)
    while True:
        pending = sum(int(status(client, n)["mempool"]["txs"]) for n in nodes)
        if pending == 0 or time.monotonic() >= deadline:
            return pending
        time.sleep(0.2)


def route(tx: SignedTx) -> int:
    return tx.body.sender[0] % VALIDATORS


def submit_all(submitters: Sequence[Submitter], txs: Sequence[SignedTx]) -> None:
    groups: list[list[SignedTx]] = [[] for _ in submitters]
    for tx in txs:
        groups[route(tx)].append(tx)
    for submitter, group in zip(submitters, groups, strict=True):
        if group:
            submitter.queue.put(group)


# --- one step of load ---------------------------------------------------------------


@dataclass
class Step:
    rate: float
    seconds: float
    offered: int = 0
    committed_in_step: int = 0
    committed: int = 0
    refused: int = 0
    latencies: list[float] = field(default_factory=list)
    blocks: int = 0
    cpu: list[float] = field(default_factory=list)  # % of one core, per node
    rss: list[float] = field(default_factory=list)  # MB now, per node

    window: float = 1.0  # seconds of the step in which commits are counted

    @property
    def committed_per_s(self) -> float:
        """Commits of this step's transactions per second in the step's
        steady part (after a short warm-up, until the last submission)."""
        return self.committed_in_step / self.window

    def latency(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def saturated(self) -> bool:
        return self.refused > 0 or self.committed_per_s < 0.9 * self.rate


def run_step(
    rate: float,
    seconds: float,
    work: Workload,
    submitters: Sequence[Submitter],
    watcher: Watcher,
    nodes: Sequence[NodeProc],
    drain: float,
) -> Step:
    step = Step(rate, seconds)
    total = int(rate * seconds)
    txs = work.load_txs(total)  # signed before the clock starts
    ids = [tx.id.hex() for tx in txs]
    refused_before = sum(sum(s.refused.values()) for s in submitters)
    cpu_before = [n.cpu_seconds() for n in nodes]
    start = time.monotonic()
    due_at: list[float] = []
    sent = 0
    tick = 0
    while sent < total:
        tick += 1
        moment = start + tick * TICK
        pause = moment - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        due = min(total, int(rate * tick * TICK))
        batch = txs[sent:due]
        now = time.monotonic()
        due_at.extend([now] * len(batch))
        submit_all(submitters, batch)
        sent = due
    end = start + seconds
    warm = min(2.0, seconds / 5)
    step.window = seconds - warm
    wall = max(time.monotonic() - start, 1e-9)
    cpu_step = [n.cpu_seconds() for n in nodes]
    step.cpu = [100 * (b - a) / wall for a, b in zip(cpu_before, cpu_step, strict=True)]
    step.rss = [n.memory_mb()["VmRSS"] for n in nodes]
    wait_committed(watcher, ids, drain)
    wait_posted(submitters, drain)  # this step's refusals are all counted
    step.offered = total
    with watcher.lock:
        for tx_id, submitted in zip(ids, due_at, strict=True):
            seen = watcher.seen.get(tx_id)
            if seen is None:
                continue
            step.committed += 1
            step.latencies.append(seen - submitted)
            if start + warm <= seen <= end:
                step.committed_in_step += 1
    step.blocks = watcher.height_at(end) - watcher.height_at(start)
    step.refused = sum(sum(s.refused.values()) for s in submitters) - refused_before
    return step


def backlog(pending: int) -> None:
    if pending:
        print(f"  (the next step starts with {pending:,} txs still pending)")


# --- the whole run ------------------------------------------------------------------


def prepare(
    client: httpx.Client,
    nodes: Sequence[NodeProc],
    submitters: Sequence[Submitter],
    watcher: Watcher,
    citizens: int,
    planned: int,
) -> Workload:
    """Enrol, open auctions and ballots, then petitions; all committed."""
    doc = dev_genesis(VALIDATORS)
    genesis = Genesis.from_json(doc)
    last = status(client, nodes[0])["last_block_time"] or genesis.genesis_time
    # Auctions and ballots open a few seconds from now: after their setup
    # block, before the first measured transaction.
    opens = last + 5_000
    work = Workload(genesis, citizens, planned=planned, start_time=opens)
    for phase in (work.setup_txs(), work.petition_txs(), work.publish_txs()):
        submit_all(submitters, phase)
        if not wait_committed(watcher, [tx.id.hex() for tx in phase], 180):
            refused = {k: v for s in submitters for k, v in s.refused.items()}
            raise RuntimeError(f"the setup was not committed (refused: {refused})")
        # Every node must know the phase before the next one reaches it.
        wait_height(client, nodes, status(client, nodes[0])["height"], 60)
    while (status(client, nodes[0])["last_block_time"] or 0) <= opens + 1:
        time.sleep(0.2)
    return work


@dataclass
class Network:
    """Four nodes with their load generator, set up and ready for load."""

    root: Path
    nodes: list[NodeProc]
    client: httpx.Client
    watcher: Watcher
    submitters: list[Submitter]
    work: Workload

    def peaks(self) -> list[float]:
        return [n.memory_mb()["VmHWM"] for n in self.nodes]


def open_network(citizens: int, planned: int) -> Network:
    root = Path(tempfile.mkdtemp(prefix="egov-bench-localnet-"))
    nodes = start_nodes(root, dev_genesis(VALIDATORS))
    client = httpx.Client()
    watcher: Watcher | None = None
    submitters: list[Submitter] = []
    try:
        wait_height(client, nodes, 2, 60)
        watcher = Watcher(nodes[0].api, status(client, nodes[0])["height"])
        watcher.start()
        submitters = [Submitter(n.api) for n in nodes]
        for s in submitters:
            s.start()
        work = prepare(client, nodes, submitters, watcher, citizens, planned)
        return Network(root, nodes, client, watcher, submitters, work)
    except BaseException:
        shut(root, nodes, client, watcher, submitters, keep=False)
        raise


def close_network(net: Network, keep: bool) -> None:
    shut(net.root, net.nodes, net.client, net.watcher, net.submitters, keep)


def shut(
    root: Path,
    nodes: Sequence[NodeProc],
    client: httpx.Client,
    watcher: Watcher | None,
    submitters: Sequence[Submitter],
    keep: bool,
) -> None:
    for s in submitters:
        s.queue.put(None)
    if watcher is not None:
        watcher.stopping = True
    client.close()
    stop_nodes(nodes)
    if keep:
        print(f"  the homes are kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


def run(
    rates: list[float],
    seconds: float,
    max_steps: int,
    citizens: int,
    drain: float,
    keep: bool,
) -> dict[str, Any]:
    ceiling = Ceiling()
    ceiling.sample()
    offered = list(rates)
    while len(offered) < max_steps:
        offered.append(offered[-1] * 1.5)
    planned = int(seconds * (sum(offered) + max(offered)))
    steps: list[Step] = []
    net = open_network(citizens, planned)
    try:

        def step_at(rate: float) -> Step:
            backlog(settle(net.client, net.submitters, net.nodes, 4 * drain))
            return run_step(
                rate, seconds, net.work, net.submitters, net.watcher, net.nodes, drain
            )

        pending = list(rates)
        rate = pending[0]
        for _ in range(max_steps):
            rate = pending.pop(0) if pending else rate * 1.5
            step = step_at(rate)
            steps.append(step)
            print(f"  offered {rate:,.0f} tx/s: {describe(step)}", flush=True)
            if step.saturated:
                break
        peaks = net.peaks()
        best = max(s.committed_per_s for s in steps)
        if best > 0:
            if any(s.refused for s in steps):
                # A refused transaction leaves its sender's later nonces (and
                # a refused key rotation its later signatures) invalid, so the
                # last step runs on a fresh network and workload.
                print(
                    "  (a fresh network for the last step: transactions were refused)"
                )
                close_network(net, keep)
                net = open_network(citizens, planned)
            step = step_at(0.8 * best)
            steps.append(step)
            print(f"  offered 80 % of {best:,.0f}: {describe(step)}", flush=True)
            peaks = [max(a, b) for a, b in zip(peaks, net.peaks(), strict=True)]
    finally:
        close_network(net, keep)
    ceiling.sample()
    return {"steps": steps, "peaks": peaks, "ceiling": ceiling.value}


def describe(step: Step) -> str:
    return (
        f"committed {step.committed_per_s:,.0f} tx/s,"
        f" p50 {step.latency(0.5):.2f} s, p99 {step.latency(0.99):.2f} s,"
        f" {step.blocks / step.seconds:.2f} blocks/s, refused {step.refused},"
        f" CPU % {'/'.join(f'{c:.0f}' for c in step.cpu)}"
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per step")
    parser.add_argument(
        "--rates",
        default="100",
        help="first offered rates, comma separated; then x1.5 a step",
    )
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument("--drain", type=float, default=30.0, help="seconds a step")
    parser.add_argument("--keep", action="store_true", help="keep the homes")
    parser.add_argument("--quick", action="store_true", help="10 s steps, 3 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.max_steps, args.citizens, args.drain = 10.0, 3, 500, 15.0
    rates = [float(r) for r in args.rates.split(",")]
    print(f"localnet: {VALIDATORS} validators, open-loop steps of {args.seconds} s")
    fig = run(rates, args.seconds, args.max_steps, args.citizens, args.drain, args.keep)
    steps: list[Step] = fig["steps"]
    ceiling = fig["ceiling"]
    print(
        f"  {'offered':>8} {'committed':>10} {'p50 s':>7} {'p99 s':>7}"
        f" {'blocks/s':>9} {'refused':>8}  CPU % per node      RSS MB per node"
    )
    for s in steps:
        print(
            f"  {s.rate:>8,.0f} {s.committed_per_s:>10,.0f} {s.latency(0.5):>7.2f}"
            f" {s.latency(0.99):>7.2f} {s.blocks / s.seconds:>9.2f} {s.refused:>8}"
            f"  {' '.join(f'{c:>4.0f}' for c in s.cpu)}"
            f"   {' '.join(f'{r:>4.0f}' for r in s.rss)}"
        )
    best = max(steps, key=lambda s: s.committed_per_s)
    first = steps[0]
    at80 = steps[-1]
    table(
        "",
        [
            ("ed25519 verify/s, 1 thread (ceiling)", ceiling),
            ("best committed tx/s over a step", best.committed_per_s),
            ("ratio to the ceiling", best.committed_per_s / ceiling),
            (f"p50 latency at {first.rate:,.0f} tx/s offered (s)", first.latency(0.5)),
            (f"p99 latency at {at80.rate:,.0f} tx/s offered (s)", at80.latency(0.99)),
            ("peak RSS per node (MB)", " ".join(f"{p:.0f}" for p in fig["peaks"])),
        ],
    )
    return summary(
        "localnet",
        committed_tx_per_s=round(best.committed_per_s),
        verify_per_s=round(ceiling),
        ratio=round(best.committed_per_s / ceiling, 3),
        step_seconds=args.seconds,
        p50_s_first=round(first.latency(0.5), 3),
        first_rate=first.rate,
        p99_s_at_80=round(at80.latency(0.99), 3),
        rate_at_80=round(at80.rate),
        peak_rss_mb=[round(p) for p in fig["peaks"]],
        cpu_pct_best=[round(c) for c in best.cpu],
        blocks_per_s_best=round(best.blocks / best.seconds, 2),
        met={
            "committed": best.committed_per_s >= TARGET_TX_PER_S,
            "p50": first.latency(0.5) <= TARGET_P50_S,
            "p99": at80.latency(0.99) <= TARGET_P99_S,
        },
        steps=[
            {
                "offered": round(s.rate),
                "committed": round(s.committed_per_s),
                "p50": round(s.latency(0.5), 3),
                "p99": round(s.latency(0.99), 3),
                "refused": s.refused,
            }
            for s in steps
        ],
    )


if __name__ == "__main__":
    main()
