"""Errors of the chain primitives.

Every error carries a stable ``code`` (``"encoding.float"``) that clients and
tests match on, and a human message. Codes never change meaning once used.
"""

from __future__ import annotations


class ChainError(Exception):
    """Base of every error raised by ``chain``: bad bytes or bad values."""

    code = "chain.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class EncodingError(ChainError):
    """Bytes that are not the canonical encoding of an allowed value."""

    code = "encoding.invalid"


class SignatureError(ChainError):
    """A signature that does not verify, or a malformed key or signature."""

    code = "sig.invalid"


class KeyFileError(ChainError):
    """A key file that is missing, malformed or readable by others."""

    code = "key.file"


class ValidationError(ChainError):
    """A well-encoded value that breaks a structural rule (size, type, range)."""

    code = "validation.invalid"


class GenesisError(ChainError):
    """A genesis document that is malformed; ``field`` names the culprit."""

    code = "genesis.invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
