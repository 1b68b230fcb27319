"""Transactions and their results (DESIGN.md §3).

A transaction body is the canonical map ``{action, args, chain, module,
nonce, sender}``; the signed transaction is the canonical map ``{body, sig}``
where ``body`` holds the body's bytes and ``sig`` signs
``egov/tx/v1 || chain || 0x00 || body``. The transaction id is SHA-256 of the
signed transaction's bytes.

Structural validity (this module) is independent of state; the application
adds the checks that need state (enrolment, nonce).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from chain import encoding
from chain.errors import ValidationError
from chain.fields import as_map, get_bytes, get_int, get_list, get_str
from chain.hashing import sha256
from chain.keys import TAG_TX, PrivateKey, verify

MAX_TX_BYTES = 64 * 1024
MAX_CHAIN_ID = 64
CHAIN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")  # \Z: "$" allows a final "\n"
MAX_EVENTS = 64
MAX_MESSAGE = 512


def check_name(value: str, what: str) -> str:
    if not NAME_RE.match(value):
        raise ValidationError(
            f"{what} {value!r} is not a valid name", code="tx.bad_name"
        )
    return value


def check_chain_id(value: str) -> str:
    """Chain ids are lowercase names, so ``tag || chain || 0x00`` is unambiguous."""
    if not CHAIN_ID_RE.match(value):
        raise ValidationError(
            f"chain id {value!r} is not valid", code="tx.bad_chain_id"
        )
    return value


@dataclass(frozen=True)
class TxBody:
    chain: str
    module: str
    action: str
    args: dict[str, Any]
    sender: bytes
    nonce: int

    def to_value(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "args": self.args,
            "chain": self.chain,
            "module": self.module,
            "nonce": self.nonce,
            "sender": self.sender,
        }

    def encode(self) -> bytes:
        return encoding.encode(self.to_value())

    @classmethod
    def from_value(cls, value: Any) -> TxBody:
        m = as_map(
            value, "tx body", ("action", "args", "chain", "module", "nonce", "sender")
        )
        args = m["args"]
        if not isinstance(args, dict):
            raise ValidationError("args must be a map", code="tx.bad_args")
        return cls(
            chain=check_chain_id(get_str(m, "chain", MAX_CHAIN_ID, min_len=1)),
            module=check_name(get_str(m, "module", 32), "module"),
            action=check_name(get_str(m, "action", 32), "action"),
            args=args,
            sender=get_bytes(m, "sender", 32),
            nonce=get_int(m, "nonce", 1, encoding.INT_MAX),
        )


@dataclass(frozen=True)
class SignedTx:
    """A decoded, structurally valid transaction (signature not yet checked)."""

    body: TxBody
    body_bytes: bytes
    sig: bytes
    raw: bytes
    id: bytes = field(repr=False)

    @classmethod
    def create(cls, body: TxBody, key: PrivateKey) -> SignedTx:
        if key.public != body.sender:
            raise ValidationError("key does not match sender", code="tx.wrong_key")
        body_bytes = body.encode()
        sig = key.sign(TAG_TX, body.chain, body_bytes)
        raw = encoding.encode({"body": body_bytes, "sig": sig})
        return cls(body, body_bytes, sig, raw, sha256(raw))

    @classmethod
    def decode(cls, raw: bytes) -> SignedTx:
        """Strictly decode a signed transaction; raises a ChainError subclass."""
        if len(raw) > MAX_TX_BYTES:
            raise ValidationError(
                f"transaction is {len(raw)} bytes, limit {MAX_TX_BYTES}",
                code="tx.too_large",
            )
        outer = as_map(
            encoding.decode(raw, max_size=MAX_TX_BYTES), "tx", ("body", "sig")
        )
        body_bytes = get_bytes(outer, "body", max_size=MAX_TX_BYTES)
        sig = get_bytes(outer, "sig", 64)
        body = TxBody.from_value(encoding.decode(body_bytes, max_size=MAX_TX_BYTES))
        return cls(body, body_bytes, sig, bytes(raw), sha256(raw))

    def verify_signature(self, chain_id: str) -> None:
        """Raise ValidationError (wrong chain) or SignatureError (bad signature)."""
        if self.body.chain != chain_id:
            raise ValidationError(
                f"transaction is for chain {self.body.chain!r}, not {chain_id!r}",
                code="tx.wrong_chain",
            )
        verify(self.body.sender, TAG_TX, chain_id, self.body_bytes, self.sig)


@dataclass(frozen=True)
class Event:
    """Something a transaction or an end-of-block step did: ``petition.signed``."""

    type: str
    attrs: dict[str, Any]

    def to_value(self) -> dict[str, Any]:
        return {"attrs": self.attrs, "type": self.type}

    @classmethod
    def from_value(cls, value: Any) -> Event:
        m = as_map(value, "event", ("attrs", "type"))
        if not isinstance(m["attrs"], dict):
            raise ValidationError("event attrs must be a map", code="validation.type")
        return cls(get_str(m, "type", 64, min_len=1), m["attrs"])


OK = "ok"


def encode_results(results: list[TxResult] | tuple[TxResult, ...]) -> bytes:
    """A block's stored results: the canonical list of the results' values."""
    return encoding.encode_array([r.encoded for r in results])


@dataclass(frozen=True)
class TxResult:
    """The outcome of one transaction: ``code`` is ``ok`` or a stable error code."""

    code: str
    message: str = ""
    events: tuple[Event, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code == OK

    def to_value(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "events": [e.to_value() for e in self.events],
            "message": self.message,
        }

    def encode(self) -> bytes:
        return self.encoded

    @cached_property
    def encoded(self) -> bytes:
        # Encoded once: the results root and the stored results both need it.
        return encoding.encode(self.to_value())

    @classmethod
    def from_value(cls, value: Any) -> TxResult:
        m = as_map(value, "result", ("code", "events", "message"))
        events = tuple(Event.from_value(e) for e in get_list(m, "events", 1 << 16))
        return cls(
            get_str(m, "code", 64, min_len=1), get_str(m, "message", 1 << 16), events
        )
