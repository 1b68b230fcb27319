"""The validator (or observer) node: every part wired in one Trio nursery.

    store + application + mempool  <-  HTTP API (submit, queries, proofs)
              ^                    <-  p2p router (txs, consensus, sync)
              |
    consensus driver (validators)  or  block sync loop (observers)

Invariants:

1. Application calls that execute or commit blocks run one at a time, in a
   worker thread (a block of thousands of transactions must not stall the
   API or the peer links); reads from the API go straight to the store.
2. Nothing a peer sends can stop the node: a message that does not decode is
   logged and dropped, a peer that breaks the protocol is disconnected by
   the peer manager.
3. Shutdown (SIGINT, SIGTERM, cancellation) closes the store and the log
   after every task has stopped, so no write is cut in half by us; a kill is
   covered by the store's atomic batches and the log's checksums.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from chain.block import Block
from chain.errors import ChainError
from chain.genesis import Genesis
from chain.keys import PrivateKey, load_key
from chain.tx import SignedTx
from chain.validators import ValidatorSet
from chain.votes import Commit
from consensus.driver import Driver, DriverConfig
from consensus.messages import (
    BlockRequest,
    BlockResponse,
    ConsensusMessage,
    from_value,
    to_value,
)
from consensus.protocols import BuildRequest, Envelope
from node.api import create_api, serve_api
from node.application import Application
from node.config import Config, Home
from node.errors import BlockInvalid, TxRefused
from node.events import EventFeed
from node.mempool import Mempool
from node.metrics import Metrics
from node.sync import apply_decided
from node.verifier import shared_verifier
from p2p.gossip import TxGossip
from p2p.peers import P2PSettings, PeerManager
from storage.store import Store
from storage.wal import FileWalStorage, WriteAheadLog

log = logging.getLogger("egov.node")

CONSENSUS_TYPES = frozenset(
    {"proposal", "vote", "evidence", "block_request", "block_response"}
)
STATUS_INTERVAL = 1.0
SYNC_BATCH = 16
# A proposer's block should execute in this share of timeout_propose_ms: a
# validator's propose timeout has to cover the proposer's execution, the
# transfer, and its own execution of the same block.
EXEC_SHARE = 3


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Ports:
    p2p: int
    api: int


class ExecutionPace:
    """Wall seconds per transaction that executing a block takes here.

    Measured on the blocks this node builds and validates (an exponential
    average over blocks of at least ``min_sample`` transactions, so that
    the fixed cost of a block does not pass for a cost per transaction). It
    includes whatever the machine's load adds, which is what the round
    timeouts have to cover. It steers only which transactions a proposer
    offers, never whether a block is valid.
    """

    def __init__(
        self, per_tx: float = 0.002, *, weight: float = 0.3, min_sample: int = 20
    ) -> None:
        self.per_tx = per_tx
        self.weight = weight
        self.min_sample = min_sample

    def observe(self, txs: int, seconds: float) -> None:
        if txs >= self.min_sample:
            sample = seconds / txs
            self.per_tx += self.weight * (sample - self.per_tx)

    def max_txs(self, budget: float) -> int:
        """How many transactions execute within ``budget`` seconds.

        Never fewer than ``min_sample``: the pace learns only from blocks of
        that size, so a lower cap after a slow spell (a loaded machine) would
        keep every later block too small to correct it.
        """
        return max(self.min_sample, int(budget / self.per_tx))


class ConsensusApp:
    """consensus.protocols.Application over the node's application and mempool.

    A proposer caps its block by time as well as by count and bytes: it
    offers at most as many transactions as its measured pace executes in
    ``timeout_propose_ms / EXEC_SHARE``. Under overload blocks stay full at
    that size and heights keep their pace, instead of blocks outgrowing the
    round timeouts and every height going through round changes.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        propose_ms = node.genesis.consensus["timeout_propose_ms"]
        self.exec_budget = propose_ms / 1000 / EXEC_SHARE
        # Blocks executed here already: validating one of them again (our
        # own proposal, a later round) is a cache hit, not a measurement.
        self._executed: set[bytes] = set()

    def _measured(self, block: Block, txs: int, seconds: float) -> None:
        key = block.hash()
        if key in self._executed:
            return
        if len(self._executed) >= 64:
            self._executed.clear()
        self._executed.add(key)
        self.node.pace.observe(txs, seconds)

    def last_height(self) -> int:
        return self.node.app.height

    def validators(self, height: int) -> ValidatorSet:
        return self.node.app.validators_at(height)

    def stored_block(self, height: int) -> tuple[Block, Commit] | None:
        block = self.node.app.get_block(height)
        commit = self.node.app.get_commit(height)
        return None if block is None or commit is None else (block, commit)

    async def wait_for_txs(self) -> None:
        while not len(self.node.mempool):
            await self.node.tx_arrived.wait()

    async def build_block(self, request: BuildRequest) -> Block:
        node = self.node
        limit = min(request.max_txs, node.pace.max_txs(self.exec_budget))
        candidates = node.mempool.reap(limit, request.max_bytes - 65536)
        block: Block
        block, seconds = await node.run_app_timed(
            node.app.build_block,
            request.proposer,
            candidates,
            request.last_commit,
            request.evidence,
        )
        self._measured(block, len(candidates), seconds)
        if len(block.txs) != len(candidates):
            log.warning(
                "txs left out of a block height=%d candidates=%d left_out=%d",
                block.height,
                len(candidates),
                len(candidates) - len(block.txs),
            )
            kept = {tx.id for tx in block.txs}
            node.mempool.remove(tx.id for tx in candidates if tx.id not in kept)
        return block

    async def validate_block(self, block: Block) -> bool:
        try:
            _, seconds = await self.node.run_app_timed(
                self.node.app.validate_block, block
            )
            self._measured(block, len(block.txs), seconds)
        except BlockInvalid as exc:
            log.warning(
                "block refused height=%d code=%s field=%s reason=%s",
                block.height,
                exc.code,
                exc.field,
                exc.message,
            )
            return False
        return True

    async def commit_block(self, block: Block, commit: Commit) -> None:
        await self.node.committed(block, commit)


class PeerTransport:
    """consensus.protocols.Transport over the peer manager."""

    def __init__(self, peers: PeerManager) -> None:
        self.peers = peers
        self._send, self._receive = trio.open_memory_channel[Envelope](1024)

    async def broadcast(
        self, message: ConsensusMessage, *, exclude: str | None = None
    ) -> None:
        skip = None if exclude is None else bytes.fromhex(exclude)
        self.peers.broadcast(to_value(message), exclude=skip)

    async def send(self, peer: str, message: ConsensusMessage) -> None:
        self.peers.send(bytes.fromhex(peer), to_value(message))

    async def deliver(self, peer: bytes, message: ConsensusMessage) -> None:
        await self._send.send(Envelope(peer.hex(), message))

    async def received(self) -> AsyncIterator[Envelope]:
        async for envelope in self._receive:
            yield envelope


class Node:
    """One node: ``await nursery.start(node.run)`` returns its bound ports."""

    def __init__(
        self,
        home: Path,
        *,
        config: Config | None = None,
        genesis: Genesis | None = None,
    ) -> None:
        self.home = Home(Path(home))
        self.config = config or Config.load(self.home.config)
        self.genesis = genesis or Genesis.load(self.home.genesis)
        self.node_key: PrivateKey = load_key(self.home.node_key)
        self.validator_key: PrivateKey | None = None
        if self.config.mode == "validator":
            self.validator_key = load_key(self.home.validator_key)
        self.home.db.parent.mkdir(parents=True, exist_ok=True)
        self.store = Store.open(
            str(self.home.db),
            node_cache_bytes=self.config.store_node_cache_mb << 20,
            cache_bytes=self.config.store_block_cache_mb << 20,
            max_open_files=self.config.store_max_open_files,
            write_buffer_bytes=self.config.store_write_buffer_mb << 20,
        )
        processes = self.config.verify_processes
        self.app = Application(
            self.store,
            self.genesis,
            verifier=shared_verifier(None if processes == -1 else processes),
        )
        self.app.init_chain()
        self.mempool = Mempool(
            self.app,
            max_txs=self.config.mempool_max_txs,
            max_bytes=self.config.mempool_max_bytes,
            check_rules=self.config.mempool_check_rules,
        )
        self.events = EventFeed(height=self.app.height)
        self.metrics = Metrics()
        self.pace = ExecutionPace()
        self.tx_arrived = trio.Event()
        self.peer_heights: dict[bytes, int] = {}
        self.started_at = time.time()
        self.ports: Ports | None = None
        self.peers_manager: PeerManager | None = None
        self.gossip: TxGossip | None = None
        self.transport: PeerTransport | None = None
        self.driver: Driver | None = None
        self._app_lock = trio.Lock()
        self._sync_wakeup = trio.Event()
        self._last_commit_at = time.monotonic()
        self.txs_committed = 0  # since this process started

    # --- running ----------------------------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                host, port = Config.split_address(self.config.p2p_listen, "p2p.listen")
                peers = PeerManager.from_genesis(
                    self.genesis,
                    self.node_key,
                    peers=self.config.peers,
                    host=host,
                    port=port,
                    settings=P2PSettings(),
                )
                self.peers_manager = peers
                self.gossip = TxGossip(peers)
                self.transport = PeerTransport(peers)
                p2p_port = await nursery.start(peers.run)
                await nursery.start(self.gossip.run)
                api_host, api_port = Config.split_address(
                    self.config.api_listen, "api.listen"
                )
                bound = await nursery.start(
                    serve_api, create_api(self), api_host, api_port
                )
                self.ports = Ports(p2p_port, bound)
                nursery.start_soon(self._route)
                nursery.start_soon(self._status_loop)
                if self.validator_key is not None:
                    wal = WriteAheadLog.open(FileWalStorage(self.home.wal))
                    self.driver = Driver(
                        DriverConfig.from_genesis(self.genesis),
                        self.validator_key,
                        ConsensusApp(self),
                        self.transport,
                        wal,
                        wall_clock_ms,
                    )
                    await nursery.start(self.driver.run)
                else:
                    nursery.start_soon(self._observer_sync)
                log.info(
                    "started moniker=%s mode=%s height=%d p2p=%d api=%d chain=%s",
                    self.config.moniker,
                    self.config.mode,
                    self.app.height,
                    p2p_port,
                    bound,
                    self.genesis.chain_id,
                )
                task_status.started(self.ports)
        finally:
            height = self.app.height
            self.store.close()
            log.info("stopped moniker=%s height=%d", self.config.moniker, height)

    def _round(self) -> int:
        state = self.driver.core.state if self.driver is not None else None
        return state.round if state is not None else 0

    async def run_app(self, fn: Any, *args: Any) -> Any:
        """Run an application call in a worker thread, one at a time."""
        async with self._app_lock:
            return await trio.to_thread.run_sync(fn, *args)

    async def run_app_timed(self, fn: Any, *args: Any) -> tuple[Any, float]:
        """``run_app``, and the wall seconds the call took once it had its turn."""
        async with self._app_lock:
            started = time.perf_counter()
            result = await trio.to_thread.run_sync(fn, *args)
            return result, time.perf_counter() - started

    async def committed(self, block: Block, commit: Commit) -> None:
        """Commit a decided block and tell everyone who cares."""
        executed = await self.run_app(self.app.commit, block, commit)
        self.mempool.update(block.txs)
        self.txs_committed += len(block.txs)
        self.events.append_block(block, executed.results)
        now = time.monotonic()
        self.metrics.block_committed(
            block.height, len(block.txs), now - self._last_commit_at
        )
        self._last_commit_at = now
        self.metrics.set_mempool(len(self.mempool), self.mempool.size_bytes)
        log.info(
            "block committed height=%d txs=%d hash=%s",
            block.height,
            len(block.txs),
            block.hash().hex()[:16],
        )

    # --- peers ------------------------------------------------------------------

    async def _route(self) -> None:
        assert self.peers_manager is not None and self.transport is not None
        async for peer, message in self.peers_manager.incoming:
            kind = message["type"]
            try:
                if kind == "txs":
                    self._on_peer_txs(peer, message["txs"])
                elif kind == "tx":  # a single transaction, as older nodes send
                    self._on_peer_txs(peer, [message["tx"]])
                elif kind == "status":
                    self._on_status(peer, message["height"])
                    if self.driver is not None:  # it picks whom to catch up from
                        await self._on_consensus(peer, from_value(message))
                elif kind in CONSENSUS_TYPES:
                    await self._on_consensus(peer, from_value(message))
            except ChainError as exc:
                log.warning(
                    "message dropped peer=%s type=%s code=%s",
                    peer.hex()[:16],
                    kind,
                    exc.code,
                )

    def _on_peer_txs(self, peer: bytes, raws: list[bytes]) -> None:
        """Admit each transaction of a gossiped batch on its own."""
        assert self.gossip is not None
        admitted = 0
        for raw in raws:
            try:
                tx = self.mempool.add(raw, from_peer=True)
            except TxRefused:
                continue  # known, stale, or invalid: mempools differ in time
            self.gossip.received(peer, tx.id)
            self.gossip.announce(tx.raw, tx.id)
            admitted += 1
        if admitted:
            self.tx_arrived.set()
            self.tx_arrived = trio.Event()

    def _on_status(self, peer: bytes, height: int) -> None:
        self.peer_heights[peer] = height
        if height > self.app.height:
            self._sync_wakeup.set()

    async def _on_consensus(self, peer: bytes, message: ConsensusMessage) -> None:
        assert self.transport is not None
        if self.driver is not None:
            await self.transport.deliver(peer, message)
        elif isinstance(message, BlockRequest):
            await self._serve_blocks(peer, message)
        elif isinstance(message, BlockResponse):
            await self._apply_response(message)

    async def _serve_blocks(self, peer: bytes, request: BlockRequest) -> None:
        assert self.transport is not None
        pairs = []
        for height in range(
            request.from_height, request.from_height + min(request.count, SYNC_BATCH)
        ):
            stored = ConsensusApp(self).stored_block(height)
            if stored is None:
                break
            pairs.append(stored)
        await self.transport.send(peer.hex(), BlockResponse(tuple(pairs)))

    async def _apply_response(self, response: BlockResponse) -> None:
        for block, commit in response.blocks:
            if block.height != self.app.height + 1:
                continue
            try:
                await self.run_app(apply_decided, self.app, block, commit)
            except BlockInvalid as exc:
                log.warning(
                    "sync block refused height=%d code=%s", block.height, exc.code
                )
                return
            self.mempool.update(block.txs)
            self.txs_committed += len(block.txs)
            self.events.append_block(block, self.app.get_results(block.height))
            self.metrics.block_committed(block.height, len(block.txs), None)
        self._sync_wakeup.set()

    async def _status_loop(self) -> None:
        assert self.peers_manager is not None
        while True:
            if self.driver is None:  # a validator's driver sends its own
                self.peers_manager.broadcast(
                    {
                        "type": "status",
                        "height": self.app.height,
                        "hash": self.store.last_block_hash or self.genesis.hash,
                    }
                )
            self.metrics.set_peers(len(self.peers_manager.connected()))
            if self.driver is not None:
                self.metrics.set_round(self._round())
            await trio.sleep(STATUS_INTERVAL)

    async def _observer_sync(self) -> None:
        """Observers follow the chain by asking peers for decided blocks."""
        assert self.peers_manager is not None
        while True:
            ahead = [
                (h, p) for p, h in self.peer_heights.items() if h > self.app.height
            ]
            if ahead:
                _, peer = max(ahead)
                self.peers_manager.send(
                    peer, to_value(BlockRequest(self.app.height + 1, SYNC_BATCH))
                )
            self._sync_wakeup = trio.Event()
            with trio.move_on_after(STATUS_INTERVAL):
                await self._sync_wakeup.wait()

    # --- NodeView for the API ---------------------------------------------------

    def submit(self, raw: bytes) -> SignedTx:
        tx = self.mempool.add(raw)
        if self.gossip is not None:
            self.gossip.announce(tx.raw, tx.id)
        self.tx_arrived.set()
        self.tx_arrived = trio.Event()
        return tx

    def status(self) -> dict[str, Any]:
        header = self.app.last_header()
        peers = self.peers_manager.connected() if self.peers_manager else []
        ahead = max(self.peer_heights.values(), default=0)
        return {
            "chain_id": self.genesis.chain_id,
            "genesis_hash": self.genesis.hash,
            "moniker": self.config.moniker,
            "mode": self.config.mode,
            "node_key": self.node_key.public,
            "validator_key": self.validator_key.public if self.validator_key else None,
            "height": self.app.height,
            "last_block_hash": self.store.last_block_hash,
            "last_block_time": header.time if header else None,
            "state_root": self.store.state_root,
            "round": self._round() if self.driver else None,
            "syncing": ahead > self.app.height + 1,
            "mempool": {"txs": len(self.mempool), "bytes": self.mempool.size_bytes},
            "peers": len(peers),
            "uptime_s": int(time.time() - self.started_at),
            "txs_committed": self.txs_committed,
        }

    def peers(self) -> list[dict[str, Any]]:
        if self.peers_manager is None:
            return []
        return [
            {
                "node_key": p.node_key,
                "address": p.address,
                "direction": p.direction,
                "connected_since": int(p.connected_since),
                "bytes_in": p.bytes_in,
                "bytes_out": p.bytes_out,
                "queued": p.queued,
                "dropped": p.dropped,
                "height": self.peer_heights.get(p.node_key),
            }
            for p in self.peers_manager.peers()
        ]

    def evidence(self) -> list[dict[str, Any]]:
        if self.driver is None:
            return []
        return [e.to_value() for e in self.driver.evidence_seen]

    def validators(self) -> ValidatorSet:
        return self.app.validators_at(self.app.height + 1)
