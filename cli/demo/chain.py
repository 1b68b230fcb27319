"""The demo's client: actors, statistics and the chain it talks to."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from chain.keys import PrivateKey
from chain.tx import SignedTx, TxBody
from cli.client import ApiError, ClientError, NodeClient

REGIONS = ("kyiv", "lviv", "odesa", "kharkiv", "dnipro")
NAMES = (
    "Olena Kovalenko", "Andrii Shevchenko", "Iryna Bondarenko", "Taras Melnyk",
    "Oksana Tkachenko", "Dmytro Kravchenko", "Nataliia Oliinyk", "Serhii Lysenko",
    "Yuliia Marchenko", "Bohdan Savchenko", "Kateryna Rudenko", "Mykola Moroz",
    "Sofiia Polishchuk", "Volodymyr Hnatiuk", "Mariia Pavlenko", "Oleh Symonenko",
    "Anastasiia Karpenko", "Yurii Zinchenko", "Halyna Ivanchenko", "Petro Levchenko",
)  # fmt: skip
MIN_CITIZENS = 6
TX_TIMEOUT = 30.0
# Deadlines are set this far after the last block's time, so that they are
# still ahead of the block that will carry the transaction.
LEAD_MS = 4_000
AUCTION_MS = 20_000
BALLOT_MS = 25_000
PHASE_TIMEOUT = 90.0
UAH = 100  # amounts are in kopiykas


class DemoError(Exception):
    """The demo could not go on; ``code`` names the step or the chain's refusal."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Stopped(Exception):
    """The runner was asked to stop while the demo was waiting."""


@dataclass
class Actor:
    name: str
    key: PrivateKey
    person: str = ""


@dataclass
class Stats:
    """What the demo has done, for the summary; plain fields, one writer."""

    phase: str = "starting"
    citizens: int = 0
    records: int = 0
    auctions: int = 0
    auction_note: str = ""
    ballots: int = 0
    ballot_note: str = ""
    petitions: int = 0
    answered: int = 0
    load_ok: int = 0
    load_failed: int = 0
    load_started: float = 0.0
    error: str = ""


def events_of(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        dict(e.get("attrs") or {})
        for e in result.get("events") or []
        if e.get("type") == kind
    ]


def event(result: dict[str, Any], kind: str) -> dict[str, Any]:
    found = events_of(result, kind)
    if not found:
        raise DemoError("demo.no_event", f"expected a {kind} event")
    return found[0]


def money(amount: int) -> str:
    return f"{amount // UAH:,}.{amount % UAH:02d} UAH"


class Chain:
    """Submits signed transactions and reads state through the nodes' API.

    Nonces are counted here after the first lookup, so that one sender can
    have several transactions in flight; a refusal for a nonce resets the
    count from the node. Requests go to the first node that answers.
    """

    def __init__(
        self,
        urls: list[str],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        poll: float = 0.25,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not urls:
            raise DemoError("demo.no_node", "no node to talk to")
        self.clients = [NodeClient(u, transport=transport) for u in urls]
        self.sleep, self.clock, self.poll = sleep, clock, poll
        self._nonces: dict[bytes, int] = {}
        self.chain_id = str(self._call(lambda c: c.status())["chain_id"])

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def _call(self, fn: Callable[[NodeClient], Any]) -> Any:
        error: ClientError | None = None
        for _ in range(2):
            for client in list(self.clients):
                try:
                    return fn(client)
                except ApiError:
                    raise
                except ClientError as exc:
                    error = exc
                    # Rotate so that a node that is down is asked last.
                    self.clients.remove(client)
                    self.clients.append(client)
            self.sleep(0.5)
        assert error is not None
        raise DemoError(error.code, error.message)

    # --- reading --------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call(lambda c: c.status())
        return result

    def block_time(self) -> int:
        return int(self.status()["last_block_time"])

    def value(self, module: str, path: str) -> Any:
        return self._call(lambda c: c.state(module, path)).get("value")

    def query(self, module: str, name: str, **params: Any) -> Any:
        strings = {k: str(v) for k, v in params.items()}
        return self._call(lambda c: c.query(module, name, strings)).get("result")

    def person_of(self, key: PrivateKey) -> str | None:
        entry = self.query("identity", "key", key=key.public.hex())
        if not isinstance(entry, dict) or entry.get("status") != "active":
            return None
        return str(entry["person"])

    def wait_until(
        self, what: str, ready: Callable[[], bool], timeout: float = PHASE_TIMEOUT
    ) -> None:
        deadline = self.clock() + timeout
        while not ready():
            if self.clock() > deadline:
                raise DemoError("demo.timeout", f"gave up waiting for {what}")
            self.sleep(0.5)

    def wait_time(self, ms: int) -> None:
        """Until a block at or after ``ms`` (chain time) is committed."""
        self.wait_until(f"chain time {ms}", lambda: self.block_time() >= ms)

    # --- writing --------------------------------------------------------------

    def submit(
        self, actor: Actor, module: str, action: str, args: dict[str, Any]
    ) -> str:
        """Sign and submit; the transaction id once a node has admitted it."""
        sender = actor.key.public
        for attempt in range(2):
            if sender not in self._nonces:
                self._nonces[sender] = self._call(lambda c: c.next_nonce(sender))
            nonce = self._nonces[sender]
            body = TxBody(self.chain_id, module, action, args, sender, nonce)
            try:
                tx_id = self._submit_raw(SignedTx.create(body, actor.key).raw)
            except ApiError as exc:
                stale = exc.code in ("tx.bad_nonce", "mempool.nonce_taken")
                self._nonces.pop(sender, None)
                if stale and attempt == 0:
                    continue
                raise DemoError(exc.code, f"{module}.{action}: {exc.message}") from exc
            self._nonces[sender] = nonce + 1
            return tx_id
        raise AssertionError("unreachable")

    def _submit_raw(self, raw: bytes) -> str:
        return str(self._call(lambda c: c.submit_tx(raw)))

    def status_of(self, tx_id: str) -> dict[str, Any] | None:
        """The committed answer for ``tx_id``, or None while it is not."""
        try:
            answer: dict[str, Any] = self._call(lambda c: c.tx(tx_id))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return answer if answer.get("status") == "committed" else None

    def wait(self, tx_id: str) -> dict[str, Any]:
        """The result of a committed transaction; DemoError unless it is ok."""
        deadline = self.clock() + TX_TIMEOUT
        while (answer := self.status_of(tx_id)) is None:
            if self.clock() > deadline:
                raise DemoError("demo.timeout", f"{tx_id} was not committed")
            self.sleep(self.poll)
        result: dict[str, Any] = answer.get("result") or {}
        if result.get("code") != "ok":
            body = answer.get("body") or {}
            raise DemoError(
                str(result.get("code")),
                f"{body.get('module')}.{body.get('action')} failed: "
                f"{result.get('message')}",
            )
        return result

    def run(
        self, actor: Actor, module: str, action: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        return self.wait(self.submit(actor, module, action, args))

    def run_all(
        self, calls: list[tuple[Actor, str, str, dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Submit every call first, then wait for each: one or two blocks."""
        ids = [self.submit(*call) for call in calls]
        return [self.wait(tx_id) for tx_id in ids]
