"""``egov localnet``: N validators as separate processes on loopback.

The homes live in ``DIR/node1 .. DIR/nodeN`` (made with the INSECURE
development keys on first use, reused afterwards, so a second invocation
resumes the same chain from its stores). Each node is ``egov start`` in its
own process, logging to ``DIR/nodeI/node.log`` (its pid, at launch, in
``DIR/nodeI/node.pid``). The live view polls each
node's ``/v1/status``; Ctrl-C stops every node with SIGTERM and waits.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import httpx

from cli.errors import CliError
from cli.home import init_home
from node.config import Config
from node.devnet import dev_genesis, node_key, validator_key

STARTUP_TIMEOUT = 30.0


def free_ports(count: int) -> list[int]:
    """Ports the OS hands out now (released at once; a small race, fine locally)."""
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def create_homes(root: Path, count: int, genesis_doc: dict[str, Any]) -> list[Path]:
    ports = free_ports(2 * count)
    p2p, api = ports[:count], ports[count:]
    homes = [root / f"node{i}" for i in range(1, count + 1)]
    for i, home in enumerate(homes):
        peers = [
            f"{node_key(j + 1).public.hex()}@127.0.0.1:{p2p[j]}"
            for j in range(count)
            if j != i
        ]
        config = Config(
            moniker=f"validator-{i + 1}",
            p2p_listen=f"127.0.0.1:{p2p[i]}",
            api_listen=f"127.0.0.1:{api[i]}",
            peers=peers,
        )
        init_home(
            home,
            genesis_doc=genesis_doc,
            config=config,
            validator=validator_key(i + 1),
            node=node_key(i + 1),
        )
    return homes


def existing_homes(root: Path) -> list[Path]:
    homes = sorted(root.glob("node*"), key=lambda p: int(p.name[4:] or 0))
    return [h for h in homes if (h / "config.toml").exists()]


@dataclass
class Proc:
    home: Path
    api: str
    process: subprocess.Popen[bytes]
    last_txs: int = 0
    last_at: float = field(default_factory=time.monotonic)
    rate: float = 0.0


def launch(home: Path) -> Proc:
    config = Config.load(home / "config.toml")
    log = open(home / "node.log", "ab")  # noqa: SIM115 - owned by the child
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "start", "--home", str(home)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    (home / "node.pid").write_text(f"{process.pid}\n")
    return Proc(home, f"http://{config.api_listen}", process)


def poll(client: httpx.Client, proc: Proc) -> dict[str, Any] | None:
    if proc.process.poll() is not None:
        return None
    try:
        status: dict[str, Any] = client.get(f"{proc.api}/v1/status", timeout=1.0).json()
    except (httpx.HTTPError, ValueError):
        return None
    now = time.monotonic()
    txs = int(status.get("txs_committed", 0))
    if now > proc.last_at:
        proc.rate = max(0.0, (txs - proc.last_txs) / (now - proc.last_at))
    proc.last_txs, proc.last_at = txs, now
    return status


def render(
    procs: list[Proc], statuses: list[dict[str, Any] | None], started: float
) -> str:
    lines = [
        f"egov localnet  {len(procs)} validators  "
        f"up {int(time.monotonic() - started)} s   (Ctrl-C stops all)",
        "",
        f"{'node':<8}{'height':>8}{'round':>7}{'tx/s':>9}{'peers':>7}"
        f"{'mempool':>9}  api",
    ]
    for proc, status in zip(procs, statuses, strict=True):
        if status is None:
            state = "down" if proc.process.poll() is not None else "starting"
            lines.append(f"{proc.home.name:<8}{state:>8}")
            continue
        lines.append(
            f"{proc.home.name:<8}{status['height']:>8}{status.get('round') or 0:>7}"
            f"{proc.rate:>9.1f}{status['peers']:>7}{status['mempool']['txs']:>9}"
            f"  {proc.api}"
        )
    return "\n".join(lines)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_all(procs: list[Proc]) -> None:
    for proc in procs:
        if proc.process.poll() is None:
            proc.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.process.kill()
            proc.process.wait()


@click.command("localnet")
@click.option(
    "--validators",
    "count",
    default=4,
    show_default=True,
    type=click.IntRange(1, 32),
    help="How many validators.",
)
@click.option(
    "--dir",
    "root",
    default=".localnet",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the homes live (reused when present).",
)
@click.option(
    "--genesis",
    "genesis_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Genesis for new homes [default: the development chain].",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Run the demo workload: every module, then a light steady load.",
)
@click.option(
    "--duration",
    type=float,
    default=None,
    help="Stop by itself after this many seconds.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON status line per second instead of the view.",
)
def localnet(
    count: int,
    root: Path,
    genesis_file: Path | None,
    demo: bool,
    duration: float | None,
    as_json: bool,
) -> None:
    """Run COUNT validators on loopback with a live view of the chain."""
    homes = existing_homes(root)
    if homes:
        click.echo(f"resuming {len(homes)} nodes from {root}", err=True)
    else:
        doc = (
            json.loads(genesis_file.read_text()) if genesis_file else dev_genesis(count)
        )
        if len(doc["validators"]) != count:
            raise CliError(
                "localnet.genesis", f"genesis has {len(doc['validators'])} validators"
            )
        homes = create_homes(root, count, doc)
        click.echo(
            f"created {count} homes in {root} (INSECURE development keys)", err=True
        )
    # SIGTERM, and SIGINT even when a shell started us in the background
    # (which ignores SIGINT), stop the network the way Ctrl-C does.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    procs = [launch(home) for home in homes]
    started = time.monotonic()
    demo_runner = None
    interactive = sys.stdout.isatty() and not as_json
    try:
        with httpx.Client() as client:
            while True:
                statuses = [poll(client, p) for p in procs]
                if demo and demo_runner is None and all(statuses):
                    from cli.demo import DemoRunner

                    demo_runner = DemoRunner([p.api for p in procs])
                    demo_runner.start()
                if as_json:
                    click.echo(
                        json.dumps(
                            [
                                {
                                    "node": p.home.name,
                                    "height": s and s["height"],
                                    "tx_per_s": round(p.rate, 1),
                                }
                                for p, s in zip(procs, statuses, strict=True)
                            ]
                        )
                    )
                else:
                    view = render(procs, statuses, started)
                    if demo_runner is not None:
                        view += "\n\n" + demo_runner.summary()
                    if interactive:
                        click.echo("\x1b[H\x1b[2J" + view)
                    else:
                        click.echo(view + "\n")
                if all(p.process.poll() is not None for p in procs):
                    raise CliError(
                        "localnet.down", f"every node exited; see {root}/node*/node.log"
                    )
                if duration is not None and time.monotonic() - started > duration:
                    break
                time.sleep(1.0)
    except KeyboardInterrupt:
        click.echo("\nstopping", err=True)
    finally:
        if demo_runner is not None:
            demo_runner.stop()
        stop_all(procs)
    click.echo(f"stopped; the chain is kept in {root} (run again to resume)", err=True)
