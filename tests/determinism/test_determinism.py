"""Determinism guards for modules/, the state roots of storage/ and the
consensus core: no floats, no wall clock, no randomness, no unordered
iteration, no IO.

- Static: the deterministic sources import nothing that reads the clock, the
  randomness source, the disk or the network, and hold no float literal.
- Dynamic: random workloads (hypothesis) run with the clock, randomness and
  IO booby-trapped; and the same workload run in other processes with other
  hash seeds (so set and str-hash order differ) gives the same roots.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.genesis import Genesis
from modules.host import ModuleHost
from modules.state import DictKV
from node.devnet import dev_genesis
from tests.determinism.run_chain import STEP_MS, run
from tests.determinism.workload import Builder, blocks

ROOT = Path(__file__).resolve().parents[2]
DETERMINISTIC = [
    *sorted(p for p in (ROOT / "modules").rglob("*.py") if p.name != "reference.py"),
    *sorted(p for p in (ROOT / "consensus").glob("*.py") if p.name != "driver.py"),
    ROOT / "storage" / "smt.py",
    ROOT / "storage" / "overlay.py",
    ROOT / "chain" / "smt_proof.py",
    ROOT / "chain" / "encoding.py",
    ROOT / "chain" / "hashing.py",
]
FORBIDDEN_MODULES = {
    "time",
    "datetime",
    "random",
    "secrets",
    "os",
    "socket",
    "threading",
    "asyncio",
    "trio",
    "plyvel",
    "uuid",
    "subprocess",
    "io",
    "pathlib",
    "shutil",
    "httpx",
    "tempfile",
    "urllib",
}
FORBIDDEN_CALLS = {"open", "input", "print", "hash", "id", "float", "eval", "exec"}

draws = st.lists(
    st.lists(st.integers(0, 40), min_size=4, max_size=4), min_size=1, max_size=24
)


def _imports(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("path", DETERMINISTIC, ids=lambda p: str(p.relative_to(ROOT)))
def test_source_uses_no_clock_randomness_io_or_floats(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    bad_imports = sorted(set(_imports(tree)) & FORBIDDEN_MODULES)
    assert not bad_imports, f"{path.name} imports {bad_imports}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            assert not isinstance(node.value, float), (
                f"{path.name}:{node.lineno} float literal {node.value}"
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, (
                f"{path.name}:{node.lineno} calls {node.func.id}()"
            )
        if isinstance(node, ast.For | ast.comprehension):
            target = node.iter
            if isinstance(target, ast.Set) or (
                isinstance(target, ast.Call)
                and isinstance(target.func, ast.Name)
                and target.func.id in ("set", "frozenset")
            ):
                raise AssertionError(
                    f"{path.name}:{target.lineno} iterates over a set (unordered)"
                )


def _trap(name: str) -> Any:
    def trapped(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"deterministic code called {name}")

    return trapped


@contextmanager
def booby_traps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with monkeypatch.context() as m:
        for name in ("time", "time_ns", "monotonic", "perf_counter", "localtime"):
            m.setattr(time, name, _trap(f"time.{name}"))
        for name in (
            "random",
            "randint",
            "randrange",
            "choice",
            "shuffle",
            "getrandbits",
        ):
            m.setattr(random, name, _trap(f"random.{name}"))
        m.setattr(os, "urandom", _trap("os.urandom"))
        m.setattr(builtins, "open", _trap("open"))
        m.setattr(socket, "socket", _trap("socket.socket"))
        yield


def _run_host(draw_list: list[list[int]], monkeypatch: pytest.MonkeyPatch) -> bytes:
    genesis = Genesis.from_json(dev_genesis(4))
    host = ModuleHost.from_genesis(genesis)
    kv = DictKV()
    builder = Builder(genesis)
    now = genesis.genesis_time
    digest: list[bytes] = []
    with booby_traps(monkeypatch):
        host.init_genesis(kv)
    batches: list[Any] = [builder.setup(), *blocks(draw_list)]
    for height, batch in enumerate(batches, start=1):
        txs = batch if height == 1 else builder.block(batch, now)
        with booby_traps(monkeypatch):
            for tx in txs:
                digest.append(host.execute_tx(kv, tx, height, now).encode())
            digest.append(host.end_block(kv, height, now).encode())
        now += STEP_MS
    digest.extend(k + v for k, v in sorted(kv.data.items()))
    return b"".join(digest)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(draw_list=draws)
def test_modules_never_touch_clock_randomness_or_io(
    draw_list: list[list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _run_host(draw_list, monkeypatch)
    assert _run_host(draw_list, monkeypatch) == first


def _in_subprocess(draw_list: list[list[int]], path: Path, seed: str) -> Any:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-m", "tests.determinism.run_chain", str(path)],
        input=json.dumps(draw_list),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(draw_list=draws)
def test_same_roots_in_other_processes_with_other_hash_seeds(
    draw_list: list[list[int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    here = run(tmp_path_factory.mktemp("here") / "db", draw_list)
    for seed in ("1", "4242"):
        there = _in_subprocess(draw_list, tmp_path_factory.mktemp("p") / "db", seed)
        assert there == here
