"""The peer manager: listens, dials, authenticates and serves peer links.

Invariants:

1. At most one live connection per peer node key. When two exist (both
   sides dialed at once), both ends keep the one dialed by the lower node
   key, so they agree without talking about it; a newer connection replaces
   an older one of the same preference, which is usually stale.
2. Nothing a peer sends can stop the manager: every failure of one
   connection (bad handshake, garbage, oversize frame, broken stream, even a
   bug in our handling) ends that connection only, with one log line that
   names the reason code.
3. Memory per peer is bounded: the send queue (see p2p/queue.py), the frame
   size, and the incoming channel, whose fullness slows the readers down
   (back-pressure through TCP) instead of growing.
4. ``broadcast`` and ``send`` never block: they encode once and queue.

Log lines (logger ``egov.p2p``) are ``event key=value ...``: ``listening``,
``peer connected``, ``peer lost`` (with ``reason``), ``handshake failed``,
``dial failed``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import trio

from chain.genesis import Genesis
from chain.keys import PrivateKey
from p2p.address import PeerAddress
from p2p.codec import DEFAULT_CODEC, Message, MessageCodec
from p2p.errors import ConnectionLost, P2PError, ProtocolError, UsageError
from p2p.frames import MAX_PLAINTEXT
from p2p.handshake import Session, handshake
from p2p.queue import SendQueue

log = logging.getLogger("egov.p2p")

IN, OUT = "in", "out"
PING: Message = {"type": "ping"}


@dataclass(frozen=True)
class P2PSettings:
    """Limits and timings; the defaults suit a validator on a real network."""

    handshake_timeout: float = 10.0
    ping_interval: float = 5.0
    idle_timeout: float = 20.0  # no frame for this long: the link is dead
    max_plaintext: int = MAX_PLAINTEXT
    queue_messages: int = 1024
    queue_bytes: int = 32 * 1024 * 1024
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_pending_handshakes: int = 32
    incoming_buffer: int = 1024
    droppable_types: frozenset[str] = field(
        default_factory=lambda: frozenset({"tx", "txs"})
    )


@dataclass(frozen=True)
class PeerInfo:
    node_key: bytes
    address: str  # host:port of the remote end
    direction: str  # "in" (it dialed us) or "out" (we dialed it)
    connected_since: float  # Unix time in seconds
    bytes_in: int
    bytes_out: int
    queued: int  # messages waiting in its send queue
    dropped: int  # gossip messages dropped because the queue was full


def short(key: bytes) -> str:
    return key.hex()[:16]


def backoff_delay(failures: int, settings: P2PSettings) -> float:
    """Capped exponential backoff with jitter in [delay/2, delay]."""
    delay = settings.backoff_initial * 2 ** min(max(failures - 1, 0), 30)
    delay = min(delay, settings.backoff_max)
    return random.uniform(delay / 2, delay)


class _Peer:
    """One authenticated connection and its send queue."""

    def __init__(
        self, session: Session, address: str, direction: str, settings: P2PSettings
    ) -> None:
        self.key = session.peer_key
        self.framed = session.framed
        self.address = address
        self.direction = direction
        self.since = time.time()
        self.queue = SendQueue(
            max_messages=settings.queue_messages, max_bytes=settings.queue_bytes
        )
        self.wakeup = trio.Event()
        self.scope = trio.CancelScope()
        self.reason: str | None = None  # why it ended; the first cause wins
        self.detail = ""

    def close(self, reason: str, detail: str = "") -> None:
        if self.reason is None:
            self.reason, self.detail = reason, detail
        self.scope.cancel()

    def enqueue(self, data: bytes, *, droppable: bool) -> bool:
        if self.reason is not None:
            return False
        if not self.queue.put(data, droppable=droppable):
            self.close("p2p.slow_peer", f"{len(self.queue)} messages queued")
            return False
        self.wakeup.set()
        return True

    def info(self) -> PeerInfo:
        return PeerInfo(
            node_key=self.key,
            address=self.address,
            direction=self.direction,
            connected_since=self.since,
            bytes_in=self.framed.raw.bytes_in,
            bytes_out=self.framed.raw.bytes_out,
            queued=len(self.queue),
            dropped=self.queue.dropped,
        )


class PeerManager:
    """Keeps this node connected to its configured peers.

    Run it with ``await nursery.start(manager.run)``; cancel the enclosing
    scope to stop it. Messages from peers arrive on ``incoming`` as
    ``(peer_node_key, message)``.
    """

    def __init__(
        self,
        *,
        node_key: PrivateKey,
        chain_id: str,
        allowed_keys: Iterable[bytes],
        peers: Iterable[PeerAddress | str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        settings: P2PSettings | None = None,
        codec: MessageCodec = DEFAULT_CODEC,
    ) -> None:
        self.node_key = node_key
        self.public_key = node_key.public
        self.chain_id = chain_id
        self.allowed = frozenset(allowed_keys)
        self.host = host
        self.port = port
        self.settings = settings or P2PSettings()
        self.codec = codec
        self._incoming_send, self.incoming = trio.open_memory_channel[
            tuple[bytes, Message]
        ](self.settings.incoming_buffer)
        self._targets: dict[bytes, PeerAddress] = {}
        self._peers: dict[bytes, _Peer] = {}
        self._nursery: trio.Nursery | None = None
        self._changed = trio.Event()
        self._pending = 0
        self._ran = False
        for peer in peers:
            self.add_peer(peer)

    @classmethod
    def from_genesis(
        cls, genesis: Genesis, node_key: PrivateKey, **kwargs: Any
    ) -> PeerManager:
        return cls(
            node_key=node_key,
            chain_id=genesis.chain_id,
            allowed_keys=genesis.allowed_node_keys(),
            **kwargs,
        )

    # -- the service ---------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen and dial until cancelled; ``started`` reports the port."""
        if self._ran:
            raise UsageError("a manager runs only once", code="p2p.usage")
        self._ran = True
        try:
            async with trio.open_nursery() as nursery:
                listeners = await trio.open_tcp_listeners(self.port, host=self.host)
                self.port = listeners[0].socket.getsockname()[1]
                self._nursery = nursery
                nursery.start_soon(
                    _serve_listeners, self._on_inbound, listeners, nursery
                )
                for target in self._targets.values():
                    nursery.start_soon(self._dial_loop, target)
                log.info(
                    "listening node=%s addr=%s:%d peers=%d",
                    short(self.public_key),
                    self.host,
                    self.port,
                    len(self._targets),
                )
                task_status.started(self.port)
        finally:
            self._nursery = None
            self._incoming_send.close()

    def add_peer(self, peer: PeerAddress | str) -> None:
        """Dial ``peer`` (``nodekey@host:port``) and keep it connected."""
        target = peer if isinstance(peer, PeerAddress) else PeerAddress.parse(peer)
        if target.node_key == self.public_key or target.node_key in self._targets:
            return
        self._targets[target.node_key] = target
        if self._nursery is not None:
            self._nursery.start_soon(self._dial_loop, target)

    # -- what the node calls -------------------------------------------------

    def broadcast(
        self,
        message: Message,
        *,
        to: Iterable[bytes] | None = None,
        exclude: bytes | None = None,
    ) -> list[bytes]:
        """Queue ``message`` for every peer (or those in ``to``).

        Returns the keys of the peers it was queued for. Raises UsageError
        if the message does not fit its schema.
        """
        data = self.codec.encode(message)
        droppable = message["type"] in self.settings.droppable_types
        if to is None:
            targets = list(self._peers.values())
        else:
            targets = [self._peers[k] for k in to if k in self._peers]
        return [
            peer.key
            for peer in targets
            if peer.key != exclude and peer.enqueue(data, droppable=droppable)
        ]

    def send(self, peer_key: bytes, message: Message) -> bool:
        """Queue ``message`` for one peer; False if it is not connected."""
        return bool(self.broadcast(message, to=[peer_key]))

    def disconnect(self, peer_key: bytes, reason: str = "p2p.dropped") -> None:
        """Drop a peer (the node caught it misbehaving); it may reconnect."""
        peer = self._peers.get(peer_key)
        if peer is not None:
            peer.close(reason)

    def peers(self) -> list[PeerInfo]:
        return [self._peers[key].info() for key in sorted(self._peers)]

    def connected(self) -> list[bytes]:
        return sorted(k for k, p in self._peers.items() if p.reason is None)

    async def wait_connected(self, *keys: bytes) -> None:
        await self._wait_until(lambda: all(k in self._peers for k in keys))

    async def wait_disconnected(self, key: bytes) -> None:
        await self._wait_until(lambda: key not in self._peers)

    # -- connections ---------------------------------------------------------

    async def _on_inbound(self, stream: trio.SocketStream) -> None:
        try:
            address = _format_sockaddr(stream.socket.getpeername())
        except OSError:
            await trio.aclose_forcefully(stream)
            return
        if self._pending >= self.settings.max_pending_handshakes:
            log.warning(
                "handshake failed addr=%s direction=in reason=p2p.busy", address
            )
            await trio.aclose_forcefully(stream)
            return
        self._pending += 1
        try:
            session = await self._handshake(stream, address, IN, None)
        finally:
            self._pending -= 1
        if session is not None:
            await self._serve(session, address, IN)

    async def _dial_loop(self, target: PeerAddress) -> None:
        failures = 0
        while True:
            await self.wait_disconnected(target.node_key)
            if failures:
                await trio.sleep(backoff_delay(failures, self.settings))
                if target.node_key in self._peers:
                    continue  # it dialed us meanwhile
            session = await self._dial(target, failures + 1)
            if session is None:
                failures += 1
                continue
            started = trio.current_time()
            await self._serve(session, target.hostport, OUT)
            # A link that stayed up long enough resets the backoff; one that
            # keeps dying right after the handshake backs off like a failure.
            stable = trio.current_time() - started >= self.settings.backoff_max
            failures = 1 if stable else failures + 1

    async def _dial(self, target: PeerAddress, attempt: int) -> Session | None:
        try:
            with trio.fail_after(self.settings.handshake_timeout):
                stream = await trio.open_tcp_stream(target.host, target.port)
        except (OSError, trio.TooSlowError) as exc:
            log.info(
                "dial failed peer=%s addr=%s attempt=%d reason=%s",
                short(target.node_key),
                target.hostport,
                attempt,
                type(exc).__name__,
            )
            return None
        return await self._handshake(stream, target.hostport, OUT, target.node_key)

    async def _handshake(
        self,
        stream: trio.SocketStream,
        address: str,
        direction: str,
        expected: bytes | None,
    ) -> Session | None:
        try:
            return await handshake(
                stream,
                node_key=self.node_key,
                chain_id=self.chain_id,
                allowed=self.allowed,
                dialer=direction == OUT,
                expected=expected,
                timeout=self.settings.handshake_timeout,
                max_plaintext=self.settings.max_plaintext,
            )
        except P2PError as exc:
            log.warning(
                "handshake failed addr=%s direction=%s reason=%s",
                address,
                direction,
                exc.code,
            )
            log.debug("handshake failed addr=%s detail=%r", address, exc.message)
            await trio.aclose_forcefully(stream)
            return None

    async def _serve(self, session: Session, address: str, direction: str) -> None:
        peer = _Peer(session, address, direction, self.settings)
        if not self._register(peer):
            log.info(
                "peer lost peer=%s addr=%s direction=%s reason=p2p.duplicate",
                short(peer.key),
                address,
                direction,
            )
            await peer.framed.aclose()
            return
        log.info(
            "peer connected peer=%s addr=%s direction=%s",
            short(peer.key),
            address,
            direction,
        )
        try:
            with peer.scope:
                async with trio.open_nursery() as nursery:
                    for loop in (self._read_loop, self._write_loop, self._ping_loop):
                        nursery.start_soon(self._guard, peer, loop)
        finally:
            self._unregister(peer)
            # Log first: under cancellation, the close below raises Cancelled.
            log.info(
                "peer lost peer=%s addr=%s direction=%s reason=%s",
                short(peer.key),
                address,
                direction,
                peer.reason or "p2p.shutdown",
            )
            if peer.detail:
                log.debug("peer lost peer=%s detail=%r", short(peer.key), peer.detail)
            await peer.framed.aclose()

    async def _guard(self, peer: _Peer, loop: Callable[[_Peer], Any]) -> None:
        """Run one of a peer's loops; any failure ends this peer only."""
        try:
            await loop(peer)
        except P2PError as exc:
            peer.close(exc.code, exc.message)
        except Exception:
            # A bug in our handling of one peer must not take down the rest.
            log.exception("peer task failed peer=%s", short(peer.key))
            peer.close("p2p.internal")

    async def _read_loop(self, peer: _Peer) -> None:
        while True:
            with trio.move_on_after(self.settings.idle_timeout) as idle:
                data = await peer.framed.receive()
            if idle.cancelled_caught:
                raise ProtocolError(
                    f"nothing received for {self.settings.idle_timeout} s",
                    code="p2p.idle",
                )
            message = self.codec.decode(data)
            if message["type"] == "ping":
                continue
            try:
                await self._incoming_send.send((peer.key, message))
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise ConnectionLost(
                    "nobody reads incoming messages", code="p2p.shutdown"
                ) from exc

    async def _write_loop(self, peer: _Peer) -> None:
        while True:
            data = peer.queue.get_nowait()
            if data is None:
                await peer.wakeup.wait()
                peer.wakeup = trio.Event()
                continue
            await peer.framed.send(data)

    async def _ping_loop(self, peer: _Peer) -> None:
        ping = self.codec.encode(PING)
        while True:
            await trio.sleep(self.settings.ping_interval)
            peer.enqueue(ping, droppable=True)

    # -- the registry of live peers -----------------------------------------

    def _preferred(self, peer: _Peer) -> bool:
        dialer = self.public_key if peer.direction == OUT else peer.key
        return dialer == min(self.public_key, peer.key)

    def _register(self, peer: _Peer) -> bool:
        old = self._peers.get(peer.key)
        if old is not None and old.reason is None:
            if self._preferred(old) and not self._preferred(peer):
                return False
            old.close("p2p.duplicate")
        self._peers[peer.key] = peer
        self._notify()
        return True

    def _unregister(self, peer: _Peer) -> None:
        if self._peers.get(peer.key) is peer:
            del self._peers[peer.key]
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _wait_until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._changed.wait()


async def _serve_listeners(
    handler: Callable[[trio.SocketStream], Any],
    listeners: list[trio.SocketListener],
    nursery: trio.Nursery,
) -> None:
    await trio.serve_listeners(handler, listeners, handler_nursery=nursery)


def _format_sockaddr(sockaddr: Any) -> str:
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
