"""Peer messages: canonical msgpack maps ``{"type": str, ...fields}``.

The codec checks the envelope only: the type is known, exactly the declared
fields are present, and each has the declared kind. What a proposal, a vote
or a block means is for the layers above; to the codec they are payloads
(bytes or a map). Anything a peer sends that does not fit raises
``ProtocolError``; a message of ours that does not fit raises ``UsageError``,
because that is a bug on our side, not misbehaviour of a peer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chain import encoding
from chain.errors import EncodingError
from p2p.errors import ProtocolError, UsageError

Message = dict[str, Any]

# Field kinds. "payload" is an opaque value produced elsewhere: bytes or a map.
BYTES, UINT, STR, MAP, LIST, PAYLOAD = "bytes", "uint", "str", "map", "list", "payload"
BYTES_LIST = "bytes_list"  # a list whose items are all bytes

Schema = Mapping[str, str]

DEFAULT_SCHEMAS: dict[str, Schema] = {
    # Keep-alive; handled by the peer manager, never delivered.
    "ping": {},
    # One signed transaction: its canonical bytes, as chain.tx encodes them.
    "tx": {"tx": BYTES},
    # A batch of signed transactions, each as in "tx"; each is admitted or
    # refused on its own.
    "txs": {"txs": BYTES_LIST},
    "proposal": {"proposal": PAYLOAD, "block": PAYLOAD},
    "vote": {"vote": PAYLOAD},
    "evidence": {"evidence": PAYLOAD},
    # Block sync: a node's latest committed height and hash, and requests
    # for ``count`` blocks with their commits from ``from_height`` on.
    "status": {"height": UINT, "hash": BYTES},
    "block_request": {"from_height": UINT, "count": UINT},
    "block_response": {"blocks": LIST},
}


def _has_kind(value: Any, kind: str) -> bool:
    if kind == BYTES:
        return isinstance(value, bytes)
    if kind == UINT:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == STR:
        return isinstance(value, str)
    if kind == MAP:
        return isinstance(value, dict)
    if kind == LIST:
        return isinstance(value, list)
    if kind == BYTES_LIST:
        return isinstance(value, list) and all(isinstance(v, bytes) for v in value)
    if kind == PAYLOAD:
        return isinstance(value, (bytes, dict))
    raise ValueError(f"unknown field kind {kind!r}")


class MessageCodec:
    """Encodes and validates messages against a table of schemas."""

    def __init__(self, schemas: Mapping[str, Schema] = DEFAULT_SCHEMAS) -> None:
        for name, schema in schemas.items():
            if "type" in schema:
                raise ValueError(f"schema {name!r} declares the reserved 'type'")
            for kind in schema.values():
                _has_kind(None, kind)  # refuses unknown kinds early
        self.schemas = dict(schemas)

    def problem(self, message: Any) -> tuple[str, str] | None:
        """``(code, reason)`` if ``message`` does not fit its schema, else None."""
        if not isinstance(message, dict):
            return "p2p.bad_message", "message is not a map"
        kind = message.get("type")
        if not isinstance(kind, str):
            return "p2p.bad_message", "message has no string 'type'"
        schema = self.schemas.get(kind)
        if schema is None:
            return "p2p.unknown_type", f"unknown message type {kind[:32]!r}"
        fields = set(message) - {"type"}
        if fields != set(schema):
            return "p2p.bad_message", (
                f"{kind} has fields {sorted(fields)[:8]}, expected {sorted(schema)}"
            )
        for name, field_kind in schema.items():
            if not _has_kind(message[name], field_kind):
                return "p2p.bad_message", f"{kind}.{name} is not {field_kind}"
        return None

    def encode(self, message: Message) -> bytes:
        found = self.problem(message)
        if found is not None:
            raise UsageError(found[1], code="p2p.bad_outgoing")
        try:
            return encoding.encode(message)
        except EncodingError as exc:
            raise UsageError(exc.message, code="p2p.bad_outgoing") from exc

    def decode(self, data: bytes) -> Message:
        try:
            message = encoding.decode(data)
        except EncodingError as exc:
            raise ProtocolError(exc.message, code="p2p.bad_message") from exc
        found = self.problem(message)
        if found is not None:
            raise ProtocolError(found[1], code=found[0])
        assert isinstance(message, dict)  # problem() checked it
        return message


DEFAULT_CODEC = MessageCodec()
