"""ed25519 keys, domain-separated signatures and key files.

Every signature covers ``tag || chain_id || 0x00 || body`` (DESIGN.md §2), so
a signature made for one chain or one kind of message verifies nowhere else.
Key files hold the 32-byte seed in hex; they are written with mode 0600 and
refused when group or others may read them.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nacl.exceptions
import nacl.signing

from chain.errors import KeyFileError, SignatureError

TAG_TX = b"egov/tx/v1"
TAG_VOTE = b"egov/vote/v1"
TAG_PROPOSAL = b"egov/proposal/v1"
TAG_HANDSHAKE = b"egov/handshake/v1"

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
SEED_SIZE = 32


def signing_bytes(tag: bytes, chain_id: str, body: bytes) -> bytes:
    """The exact bytes a signature covers."""
    return tag + chain_id.encode("utf-8") + b"\x00" + body


@dataclass(frozen=True)
class PrivateKey:
    """An ed25519 signing key; ``public`` is its 32-byte verify key."""

    seed: bytes
    _signer: nacl.signing.SigningKey = field(init=False, repr=False, compare=False)
    public: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.seed) != SEED_SIZE:
            raise KeyFileError(f"seed must be {SEED_SIZE} bytes", code="key.seed")
        # Deriving the key pair costs as much as a signature: do it once.
        signer = nacl.signing.SigningKey(self.seed)
        object.__setattr__(self, "_signer", signer)
        object.__setattr__(self, "public", bytes(signer.verify_key))

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    def sign(self, tag: bytes, chain_id: str, body: bytes) -> bytes:
        signed = self._signer.sign(signing_bytes(tag, chain_id, body))
        return bytes(signed.signature)

    def __repr__(self) -> str:  # never print the seed by accident
        return f"PrivateKey(public={self.public.hex()})"


# Signatures that verified, by SHA-256 of (key, signature, signed bytes). A
# node meets the same signature more than once: a transaction when it enters
# the mempool and again in a block, a commit when it is synced and again as
# the next block's last commit. The verdict depends only on those bytes, so a
# verified one is not verified again. Bounded; emptied when full; failures
# are never remembered.
_VERIFIED: dict[bytes, None] = {}
_VERIFIED_MAX = 1 << 17


def forget_verified() -> None:
    """Drop the remembered signatures (benchmarks model a fresh node)."""
    _VERIFIED.clear()


def _memo_key(public: bytes, signature: bytes, message: bytes) -> bytes:
    return hashlib.sha256(public + signature + message).digest()


def verify(
    public: bytes, tag: bytes, chain_id: str, body: bytes, signature: bytes
) -> None:
    """Raise SignatureError unless ``signature`` by ``public`` covers the body."""
    if len(public) != PUBLIC_KEY_SIZE:
        raise SignatureError("public key must be 32 bytes", code="sig.bad_key")
    if len(signature) != SIGNATURE_SIZE:
        raise SignatureError("signature must be 64 bytes", code="sig.malformed")
    message = signing_bytes(tag, chain_id, body)
    seen = _memo_key(public, signature, message)
    if seen in _VERIFIED:
        return
    try:
        nacl.signing.VerifyKey(public).verify(message, signature)
    except nacl.exceptions.BadSignatureError as exc:
        raise SignatureError("signature does not verify", code="sig.invalid") from exc
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise SignatureError(
            f"bad key or signature: {exc}", code="sig.bad_key"
        ) from exc
    _remember_verified(seen)


def _remember_verified(seen: bytes) -> None:
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[seen] = None


@dataclass(frozen=True, slots=True)
class Unverified:
    """A signature not yet known good, as a verifier elsewhere needs it.

    ``message`` is the signed bytes (``signing_bytes``); ``memo`` is where a
    good verdict is remembered (``remember_good``).
    """

    public: bytes
    message: bytes
    signature: bytes
    memo: bytes


def unverified(
    public: bytes, tag: bytes, chain_id: str, body: bytes, signature: bytes
) -> Unverified | None:
    """The signature to verify elsewhere, or None if it is already known
    good. Malformed keys and signatures are not refused here: ``verify``
    refuses them when it is called on them."""
    message = signing_bytes(tag, chain_id, body)
    seen = _memo_key(public, signature, message)
    if seen in _VERIFIED:
        return None
    return Unverified(public, message, signature, seen)


def remember_good(checked: Unverified) -> None:
    """Record a signature that another process verified with ``check_many``."""
    _remember_verified(checked.memo)


def check_many(items: list[tuple[bytes, bytes, bytes]]) -> list[int]:
    """The indices of the (public, message, signature) items that do not
    verify. Pure: it runs in worker processes (``node.verifier``)."""
    bad: list[int] = []
    for index, (public, message, signature) in enumerate(items):
        try:
            nacl.signing.VerifyKey(public).verify(message, signature)
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            bad.append(index)
    return bad


def is_valid_signature(
    public: bytes, tag: bytes, chain_id: str, body: bytes, signature: bytes
) -> bool:
    try:
        verify(public, tag, chain_id, body, signature)
    except SignatureError:
        return False
    return True


def save_key(path: Path | str, key: PrivateKey, *, overwrite: bool = False) -> None:
    """Write the seed as hex to ``path`` with mode 0600 (created, never widened)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(f"{path} exists", code="key.exists") from exc
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(key.seed.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def load_key(path: Path | str) -> PrivateKey:
    """Read a key file; refuse it if group or others may read or write it."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyFileError(f"{path} does not exist", code="key.missing") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path} is accessible by others (mode {stat.S_IMODE(mode):o});"
            " run: chmod 600 " + str(path),
            code="key.permissions",
        )
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path} is not a hex seed", code="key.malformed") from exc
    try:
        seed = bytes.fromhex(text)
    except ValueError as exc:
        raise KeyFileError(f"{path} is not a hex seed", code="key.malformed") from exc
    if len(seed) != SEED_SIZE:
        raise KeyFileError(f"{path} does not hold a 32-byte seed", code="key.malformed")
    return PrivateKey(seed)


def dev_key(name: str) -> PrivateKey:
    """INSECURE development key derived from a public seed string.

    For the development chain only: anyone can recompute these keys.
    The seed is SHA-256(b"egov-insecure-dev-seed/" + name).
    """
    return PrivateKey(
        hashlib.sha256(b"egov-insecure-dev-seed/" + name.encode()).digest()
    )
