"""Real nodes in one Trio run, over loopback TCP on ports the OS picks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from cli.home import init_home
from node.config import Config
from node.devnet import dev_genesis, node_key, validator_key
from node.service import Node

FAST_CONSENSUS = {
    "timeout_propose_ms": 600,
    "timeout_prevote_ms": 300,
    "timeout_precommit_ms": 300,
    "timeout_delta_ms": 200,
    "empty_block_interval_ms": 300,
}


def make_homes(
    root: Path, count: int, **genesis: Any
) -> tuple[list[Path], dict[str, Any]]:
    genesis.setdefault("consensus", FAST_CONSENSUS)
    doc = dev_genesis(count, **genesis)
    homes = []
    for i in range(1, count + 1):
        home = root / f"node{i}"
        config = Config(
            moniker=f"validator-{i}", p2p_listen="127.0.0.1:0", api_listen="127.0.0.1:0"
        )
        init_home(
            home,
            genesis_doc=doc,
            config=config,
            validator=validator_key(i),
            node=node_key(i),
        )
        homes.append(home)
    return homes, doc


@dataclass
class Cluster:
    nursery: trio.Nursery
    nodes: list[Node] = field(default_factory=list)
    scopes: dict[int, trio.CancelScope] = field(default_factory=dict)
    stopped: dict[int, trio.Event] = field(default_factory=dict)

    async def start(self, home: Path) -> Node:
        scope = trio.CancelScope()
        done = trio.Event()
        node = Node(home)

        async def run(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
            try:
                with scope:
                    await node.run(task_status=task_status)
            finally:
                done.set()

        await self.nursery.start(run)
        self.nodes.append(node)
        self.scopes[id(node)] = scope
        self.stopped[id(node)] = done
        self.connect()
        return node

    async def stop(self, node: Node) -> None:
        """Cancel a node and wait until it has closed its store."""
        self.scopes[id(node)].cancel()
        await self.stopped[id(node)].wait()
        self.nodes.remove(node)

    def connect(self) -> None:
        for a in self.nodes:
            for b in self.nodes:
                if a is not b and a.peers_manager and b.ports:
                    a.peers_manager.add_peer(
                        f"{b.node_key.public.hex()}@127.0.0.1:{b.ports.p2p}"
                    )


async def wait_height(nodes: list[Node], height: int, timeout: float = 30) -> None:
    with trio.fail_after(timeout):
        while min(n.app.height for n in nodes) < height:
            await trio.sleep(0.05)


@asynccontextmanager
async def running(homes: list[Path]) -> AsyncIterator[Cluster]:
    async with trio.open_nursery() as nursery:
        cluster = Cluster(nursery)
        for home in homes:
            await cluster.start(home)
        try:
            yield cluster
        finally:
            nursery.cancel_scope.cancel()
