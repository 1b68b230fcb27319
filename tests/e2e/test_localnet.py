"""A four-validator localnet as real processes, driven by the ``egov`` command.

The test plays what an operator would: start ``egov localnet``, submit one
transaction per module with ``egov tx --wait``, stop a validator and see the
other three go on, restart it with ``egov start`` and see it catch up, kill
another outright (SIGKILL) and see it come back without signing twice, audit
the chain from a node and from an export, and stop everything with Ctrl-C.

Every process is started in its own session so that nothing outlives the
test: the teardown interrupts the localnet, then kills whatever pid is left.
The whole test is bounded by the deadlines below (about 90 s on a slow
machine); transactions from different senders run concurrently to stay
within them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from chain.keys import PrivateKey, dev_key, save_key
from node.devnet import authority_key

pytestmark = pytest.mark.e2e

VALIDATORS = 4
STARTUP_S = 45.0
COMMAND_S = 40.0
ADVANCE_S = 20.0
CATCH_UP_S = 40.0
STOP_S = 25.0


def egov() -> list[str]:
    script = Path(sys.executable).with_name("egov")
    if script.exists():
        return [str(script)]
    found = shutil.which("egov")
    return [found] if found else [sys.executable, "-m", "cli.main"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for(what: str, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.25)


@dataclass
class Net:
    root: Path
    process: subprocess.Popen[bytes]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=3.0))

    def home(self, i: int) -> Path:
        return self.root / f"node{i}"

    def api(self, i: int) -> str:
        config = tomllib.loads((self.home(i) / "config.toml").read_text())
        return f"http://{config['api']['listen']}"

    def pid(self, i: int) -> int:
        return int((self.home(i) / "node.pid").read_text())

    def status(self, i: int) -> dict[str, Any] | None:
        try:
            answer: dict[str, Any] = self.http.get(f"{self.api(i)}/v1/status").json()
        except (httpx.HTTPError, ValueError, OSError):
            return None
        return answer

    def height(self, i: int) -> int:
        status = self.status(i)
        return -1 if status is None else int(status["height"])

    def query(self, i: int, module: str, name: str, **params: str) -> Any:
        url = f"{self.api(i)}/v1/query/{module}/{name}"
        return self.http.get(url, params=params).json()["result"]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*egov(), *args],
            capture_output=True,
            text=True,
            timeout=COMMAND_S,
            stdin=subprocess.DEVNULL,
        )
        if check:
            assert done.returncode == 0, (
                f"egov {' '.join(args)} exited {done.returncode}\n"
                f"stdout: {done.stdout}\nstderr: {done.stderr}"
            )
        return done

    def restart(self, i: int) -> None:
        """``egov start`` for node ``i``, logging to ``restart.log``."""
        with open(self.home(i) / "restart.log", "wb") as log:
            self.started.append(
                subprocess.Popen(
                    [*egov(), "start", "--home", str(self.home(i))],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def tx(self, node: int, key: Path, module: str, action: str, *args: str) -> Any:
        """``egov tx ... --wait --json``; the committed answer, result ok."""
        done = self.run(
            "tx", module, action, *args, "--key", str(key),
            "--node", self.api(node), "--wait", "--json",
        )  # fmt: skip
        answer = json.loads(done.stdout)
        assert answer["result"]["code"] == "ok", answer
        return answer


def events(answer: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    found = [e["attrs"] for e in answer["result"]["events"] if e["type"] == kind]
    assert found, f"no {kind} event in {answer['result']}"
    return found


def stop_net(net: Net) -> None:
    """Ctrl-C for the localnet; SIGKILL for anything still running after it."""
    if net.process.poll() is None:
        os.killpg(net.process.pid, signal.SIGINT)
        try:
            net.process.wait(STOP_S)
        except subprocess.TimeoutExpired:
            os.killpg(net.process.pid, signal.SIGKILL)
            net.process.wait()
    for proc in net.started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    for i in range(1, VALIDATORS + 1):
        pid_file = net.home(i) / "node.pid"
        if pid_file.exists() and alive(pid := int(pid_file.read_text())):
            os.kill(pid, signal.SIGKILL)
    net.http.close()


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    root = tmp_path / "net"
    log = open(tmp_path / "localnet.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [*egov(), "localnet", "--validators", str(VALIDATORS), "--dir", str(root)]
        + ["--json"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    network = Net(root, process)
    try:
        yield network
    finally:
        stop_net(network)
        log.close()


def outage(net: Net, i: int, signum: int) -> int:
    """Stop node ``i`` with ``signum``; see the chain go on without it, then
    restart it with ``egov start`` and see it catch up. The height it
    caught up to."""
    pid = net.pid(i)
    os.kill(pid, signum)
    wait_for(f"node{i} to exit", lambda: not alive(pid), STOP_S)
    base = net.height(1)
    wait_for("the chain to advance", lambda: net.height(1) >= base + 2, ADVANCE_S)
    net.restart(i)
    target = net.height(1)
    wait_for(f"node{i} to catch up", lambda: net.height(i) >= target, CATCH_UP_S)
    return target


def write_key(directory: Path, name: str, key: PrivateKey) -> Path:
    path = directory / f"{name}.key"
    save_key(path, key)
    return path


def test_n4_localnet_modules_restart_audit(net: Net, tmp_path: Path) -> None:
    nodes = range(1, VALIDATORS + 1)
    homes_ready = lambda: all(  # noqa: E731
        (net.home(i) / "node.pid").exists() for i in nodes
    )
    wait_for("the localnet's homes", homes_ready, STARTUP_S)
    wait_for("height 2", lambda: min(net.height(i) for i in nodes) >= 2, STARTUP_S)

    keys = tmp_path / "keys"
    keys.mkdir()
    identity = write_key(keys, "identity", authority_key("authority/identity"))
    land = write_key(keys, "land", authority_key("authority/land"))
    fund = write_key(keys, "fund", authority_key("authority/auctions"))
    elections = write_key(keys, "elections", authority_key("authority/elections"))
    olena_key = dev_key("e2e/citizen/olena")
    olena = write_key(keys, "olena", olena_key)
    fund_person = net.query(
        1, "identity", "key", key=authority_key("authority/auctions").public.hex()
    )["person"]
    now = int(net.status(1)["last_block_time"])  # type: ignore[index]
    opens = now + 15_000  # after the CLI start-ups of four concurrent commands

    # One transaction per authority at once: different senders, no nonce race.
    with ThreadPoolExecutor(4) as pool:
        enrolled = pool.submit(
            net.tx, 1, identity, "identity", "enrol",
            "--arg", f"key=hex:{olena_key.public.hex()}",
            "--arg", "name=Olena Kovalenko",
            "--arg-json", '{"attributes": {"region": "kyiv"}}',
        )  # fmt: skip
        registered = pool.submit(
            net.tx, 2, land, "registry", "register",
            "--arg", "register=land", "--arg", "id=8000000000:01:001:0001",
            "--arg", "denominator=1",
            "--arg-json",
            json.dumps({"owners": {fund_person: 1}, "attributes": {"area": "600"}}),
        )  # fmt: skip
        auction = pool.submit(
            net.tx, 3, fund, "auction", "create",
            "--arg", "item=A 2004 Bogdan bus", "--arg", "kind=english",
            "--arg", "start_price=1000000", "--arg", "min_step=10000",
            "--arg", f"opens_at={now + 60_000}",
            "--arg", f"closes_at={now + 120_000}",
        )  # fmt: skip
        ballot = pool.submit(
            net.tx, 4, elections, "vote", "create_ballot",
            "--arg", "question=Approve the land registry's new fee schedule?",
            "--arg-json", '{"options": ["yes", "no"]}',
            "--arg", "eligible=registrar:land",
            "--arg", f"opens_at={opens}", "--arg", f"closes_at={opens + 600_000}",
        )  # fmt: skip
        person = events(enrolled.result(), "identity.enrolled")[0]["person"]
        events(registered.result(), "registry.registered")
        events(auction.result(), "auction.created")
        ballot_id = events(ballot.result(), "vote.ballot_created")[0]["ballot"]

    wait_for(
        "the ballot to open",
        lambda: int(net.status(1)["last_block_time"]) >= opens,  # type: ignore[index]
        ADVANCE_S,
    )
    with ThreadPoolExecutor(2) as pool:
        submitted = pool.submit(
            net.tx, 1, olena, "petition", "submit",
            "--arg", "addressee=kyiv_council",
            "--arg", "title=Bring trolleybus 16 back to Podil",
            "--arg", "text=Residents ask the council to restore the route.",
        )  # fmt: skip
        cast = pool.submit(
            net.tx, 2, land, "vote", "cast",
            "--arg", f"ballot={ballot_id}", "--arg", "option=0",
        )  # fmt: skip
        petition = events(submitted.result(), "petition.submitted")[0]["petition"]
        assert events(cast.result(), "vote.vote_cast")[0]["option"] == 0
    signed = net.tx(3, olena, "petition", "sign", "--arg", f"petition={petition}")
    assert events(signed, "petition.signed")[0]["person"] == person

    # A proven read: value -> proof -> header -> commit, against our genesis.
    genesis_file = str(net.home(1) / "genesis.json")
    proven = net.run(
        "query",
        "petition",
        f"petition/{petition}",
        "--node",
        net.api(2),
        "--genesis",
        genesis_file,
        "--json",
    )
    answer = json.loads(proven.stdout)
    assert answer["verified"] is True and answer["present"] is True
    assert answer["value"]["title"] == "Bring trolleybus 16 back to Podil"

    # A validator stops; three of four are more than two thirds of the power.
    outage(net, 4, signal.SIGTERM)
    # Another is killed outright, most likely in the middle of a height
    # (empty blocks keep coming): no shutdown, its last writes cut short.
    # It restarts from its store and consensus log, and signs nothing twice,
    # which the others would keep as evidence.
    target = outage(net, 3, signal.SIGKILL)
    wait_for(
        "two blocks with node3 back", lambda: net.height(1) >= target + 2, ADVANCE_S
    )
    for i in nodes:
        found = net.http.get(f"{net.api(i)}/v1/evidence").json()["evidence"]
        assert found == [], f"node{i} holds evidence: {found}"

    audited = net.run("audit", "--node", net.api(2), "--json")
    report = json.loads(audited.stdout)
    assert report["ok"] is True, report
    chain_file = tmp_path / "chain.egov"
    net.run("export", "--node", net.api(4), "--out", str(chain_file))
    from_file = json.loads(net.run("audit", "--file", str(chain_file), "--json").stdout)
    assert from_file["ok"] is True, from_file
    assert from_file["blocks"] >= target

    # Ctrl-C: the localnet stops its nodes; the restarted node4 and node3
    # are ours.
    originals = [net.pid(i) for i in (1, 2)]
    os.killpg(net.process.pid, signal.SIGINT)
    assert net.process.wait(STOP_S) == 0
    for proc in net.started:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(STOP_S) == 0
    wait_for("every node to exit", lambda: not any(map(alive, originals)), STOP_S)
