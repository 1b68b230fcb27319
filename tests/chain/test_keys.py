"""ed25519 keys: signing bytes, domain separation and key files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.errors import KeyFileError, SignatureError
from chain.keys import (
    TAG_HANDSHAKE,
    TAG_PROPOSAL,
    TAG_TX,
    TAG_VOTE,
    PrivateKey,
    dev_key,
    is_valid_signature,
    load_key,
    save_key,
    signing_bytes,
    verify,
)

TAGS = [TAG_TX, TAG_VOTE, TAG_PROPOSAL, TAG_HANDSHAKE]
BODY = b"\x81\xa1a\x01"


def test_tags_are_fixed_and_prefix_free() -> None:
    assert TAGS == [
        b"egov/tx/v1",
        b"egov/vote/v1",
        b"egov/proposal/v1",
        b"egov/handshake/v1",
    ]
    for a in TAGS:
        for b in TAGS:
            assert a == b or not b.startswith(a)


def test_signing_bytes_layout() -> None:
    assert signing_bytes(TAG_TX, "egov-dev", b"xy") == b"egov/tx/v1egov-dev\x00xy"


def test_sign_and_verify() -> None:
    key = dev_key("citizen-1")
    sig = key.sign(TAG_TX, "egov-dev", BODY)
    assert len(sig) == 64 and len(key.public) == 32
    verify(key.public, TAG_TX, "egov-dev", BODY, sig)
    assert key.sign(TAG_TX, "egov-dev", BODY) == sig  # ed25519 is deterministic


@pytest.mark.parametrize("tag", TAGS)
def test_a_signature_serves_one_tag_only(tag: bytes) -> None:
    key = dev_key("citizen-1")
    sig = key.sign(tag, "egov-dev", BODY)
    for other in TAGS:
        assert is_valid_signature(key.public, other, "egov-dev", BODY, sig) == (
            other == tag
        )


def test_a_signature_serves_one_chain_only() -> None:
    key = dev_key("citizen-1")
    sig = key.sign(TAG_TX, "egov-dev", BODY)
    with pytest.raises(SignatureError) as info:
        verify(key.public, TAG_TX, "egov-test", BODY, sig)
    assert info.value.code == "sig.invalid"
    # The 0x00 separator keeps the chain id and the body apart.
    assert not is_valid_signature(key.public, TAG_TX, "egov-de", b"v" + BODY, sig)


def test_a_tx_signature_is_not_a_vote_signature() -> None:
    key = dev_key("validator-0")
    sig = key.sign(TAG_TX, "egov-dev", BODY)
    with pytest.raises(SignatureError) as info:
        verify(key.public, TAG_VOTE, "egov-dev", BODY, sig)
    assert info.value.code == "sig.invalid"


@pytest.mark.parametrize(
    ("public", "sig", "code"),
    [
        (b"\x01" * 31, b"\x00" * 64, "sig.bad_key"),
        (b"\x01" * 33, b"\x00" * 64, "sig.bad_key"),
        (None, b"\x00" * 64, "sig.bad_key"),
        (dev_key("x").public, b"\x00" * 63, "sig.malformed"),
        (dev_key("x").public, b"\x00" * 64, "sig.invalid"),
    ],
)
def test_malformed_key_or_signature(public: bytes, sig: bytes, code: str) -> None:
    with pytest.raises(SignatureError) as info:
        if public is None:
            verify(b"", TAG_TX, "c", BODY, sig)
        else:
            verify(public, TAG_TX, "c", BODY, sig)
    assert info.value.code == code


@settings(max_examples=50)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64))
def test_random_key_and_signature_never_verify(public: bytes, sig: bytes) -> None:
    assert not is_valid_signature(public, TAG_TX, "egov-dev", BODY, sig)


def test_tampered_signature_fails() -> None:
    key = dev_key("citizen-1")
    sig = bytearray(key.sign(TAG_TX, "egov-dev", BODY))
    for at in (0, 31, 32, 63):
        bad = bytearray(sig)
        bad[at] ^= 0x40
        assert not is_valid_signature(key.public, TAG_TX, "egov-dev", BODY, bytes(bad))


def test_dev_keys_are_stable_and_distinct() -> None:
    assert dev_key("citizen-1") == dev_key("citizen-1")
    assert dev_key("citizen-1").public != dev_key("citizen-2").public
    assert "seed" not in repr(dev_key("citizen-1"))
    assert dev_key("citizen-1").seed.hex() not in repr(dev_key("citizen-1"))


def test_seed_must_be_32_bytes() -> None:
    with pytest.raises(KeyFileError) as info:
        PrivateKey(b"\x00" * 31)
    assert info.value.code == "key.seed"


# -- key files -----------------------------------------------------------------


def test_save_writes_0600_and_loads_back(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    path = tmp_path / "keys" / "validator.key"
    old = os.umask(0)  # even a permissive umask must not widen the file
    try:
        save_key(path, key)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path) == key


def test_save_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k"
    save_key(path, dev_key("a"))
    with pytest.raises(KeyFileError) as info:
        save_key(path, dev_key("b"))
    assert info.value.code == "key.exists"
    assert load_key(path) == dev_key("a")


def test_overwrite_narrows_a_wide_file(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text("junk")
    path.chmod(0o644)
    save_key(path, dev_key("b"), overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path) == dev_key("b")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o602, 0o620, 0o700 | 1])
def test_refused_when_others_may_access(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "k"
    save_key(path, dev_key("a"))
    path.chmod(mode)
    with pytest.raises(KeyFileError) as info:
        load_key(path)
    assert info.value.code == "key.permissions"
    assert "chmod 600" in info.value.message


def test_owner_only_modes_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "k"
    save_key(path, dev_key("a"))
    path.chmod(0o400)
    assert load_key(path) == dev_key("a")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as info:
        load_key(tmp_path / "absent")
    assert info.value.code == "key.missing"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"zz" * 32,
        b"00" * 31,
        b"00" * 33,
        b"0" * 63,
        b"\xff\xfe" * 32,
        "é".encode() * 32,
        b"00" * 32 + b" trailing words",
    ],
)
def test_malformed_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as info:
        load_key(path)
    assert info.value.code == "key.malformed"


def test_a_directory_is_not_a_key(tmp_path: Path) -> None:
    path = tmp_path / "dir"
    path.mkdir(mode=0o700)
    with pytest.raises(KeyFileError):
        load_key(path)


def test_surrounding_whitespace_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text("\n" + dev_key("a").seed.hex() + "\n\n")
    path.chmod(0o600)
    assert load_key(path) == dev_key("a")
