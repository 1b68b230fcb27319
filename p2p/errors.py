"""Errors of the peer-to-peer layer.

Every error carries a stable ``code`` (``"p2p.unknown_peer"``) that logs and
tests match on, and a human message. Codes never change meaning once used.

The hierarchy separates who is at fault:

- ``HandshakeError``: the remote end could not be authenticated or is not
  allowed (unknown key, wrong chain, bad signature, too slow).
- ``ProtocolError``: an authenticated peer sent bytes that break the protocol
  (oversize or undecryptable frame, malformed message). The connection is
  unusable afterwards.
- ``ConnectionLost``: the stream ended or broke; nobody misbehaved.
- ``UsageError``: our own caller's mistake (a malformed peer address, a
  message that cannot be sent). Never caused by a peer.
"""

from __future__ import annotations


class P2PError(Exception):
    """Base of every error raised by ``p2p``."""

    code = "p2p.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class HandshakeError(P2PError):
    """The handshake failed: the remote end is refused.

    Codes: ``p2p.bad_hello``, ``p2p.bad_version``, ``p2p.wrong_chain``,
    ``p2p.self_connect``, ``p2p.unknown_peer``, ``p2p.unexpected_peer``,
    ``p2p.bad_auth``, ``p2p.bad_signature``, ``p2p.timeout``.
    """

    code = "p2p.handshake"


class ProtocolError(P2PError):
    """An authenticated peer broke the protocol; drop the connection.

    Codes: ``p2p.frame_too_large``, ``p2p.bad_frame``, ``p2p.decrypt_failed``,
    ``p2p.bad_message``, ``p2p.unknown_type``, ``p2p.idle``.
    """

    code = "p2p.protocol"


class ConnectionLost(P2PError):
    """The stream ended (``p2p.closed``) or broke (``p2p.broken``)."""

    code = "p2p.broken"


class UsageError(P2PError):
    """Our own caller's mistake: ``p2p.bad_address``, ``p2p.bad_outgoing``."""

    code = "p2p.usage"
