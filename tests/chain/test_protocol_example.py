"""The worked example of docs/PROTOCOL.md, checked against the code.

The hex values are read out of the document's ```hex blocks, so the text
cannot drift from what the code produces. Where it is cheap, a value is also
recomputed without our code (hashlib, PyNaCl, the msgpack library) so that
the document describes the format and not merely our implementation.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import msgpack
import nacl.signing
import pytest

from chain.block import txs_root
from chain.hashing import leaf_hash, merkle_proof, node_hash, verify_merkle_proof
from chain.keys import TAG_TX, dev_key, signing_bytes
from chain.tx import SignedTx, TxBody

DOC = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"
BLOCK_RE = re.compile(r"^```hex\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINE_RE = re.compile(r"^([a-z0-9_]+): ([0-9a-f]+)$")


def document_values() -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for block in BLOCK_RE.findall(DOC.read_text(encoding="utf-8")):
        for line in block.splitlines():
            match = LINE_RE.match(line)
            assert match, f"not a 'name: hex' line in PROTOCOL.md: {line!r}"
            name, value = match.groups()
            assert name not in found, f"{name} given twice"
            found[name] = bytes.fromhex(value)
    return found


DOCUMENT = document_values()
CHAIN = "egov-dev"


def example_tx(citizen: str, new: str) -> SignedTx:
    key = dev_key(citizen)
    body = TxBody(
        chain=CHAIN,
        module="identity",
        action="rotate_key",
        args={"new_key": dev_key(new).public},
        sender=key.public,
        nonce=1,
    )
    return SignedTx.create(body, key)


TX = example_tx("citizen-1", "citizen-1/2026")
TX_2 = example_tx("citizen-2", "citizen-2/2026")
LEAVES = [TX.id, TX_2.id]
EXPECTED = {
    "seed": dev_key("citizen-1").seed,
    "public_key": dev_key("citizen-1").public,
    "new_key": dev_key("citizen-1/2026").public,
    "body": TX.body_bytes,
    "signed_bytes": signing_bytes(TAG_TX, CHAIN, TX.body_bytes),
    "signature": TX.sig,
    "signed_tx": TX.raw,
    "tx_id": TX.id,
    "tx_id_2": TX_2.id,
    "leaf_0": leaf_hash(TX.id),
    "leaf_1": leaf_hash(TX_2.id),
    "txs_root": txs_root(LEAVES),
    "audit_path_1": b"".join(merkle_proof(LEAVES, 1)),
}


def test_document_gives_every_value_and_no_other() -> None:
    assert set(DOCUMENT) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_value_matches_the_code(name: str) -> None:
    assert DOCUMENT[name].hex() == EXPECTED[name].hex()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_recomputed_without_our_code() -> None:
    d = DOCUMENT
    assert d["seed"] == sha256(b"egov-insecure-dev-seed/citizen-1")
    signer = nacl.signing.SigningKey(d["seed"])
    assert bytes(signer.verify_key) == d["public_key"]
    body = {
        "action": "rotate_key",
        "args": {"new_key": d["new_key"]},
        "chain": CHAIN,
        "module": "identity",
        "nonce": 1,
        "sender": d["public_key"],
    }
    assert msgpack.packb(body, use_bin_type=True) == d["body"]
    assert d["signed_bytes"] == b"egov/tx/v1" + b"egov-dev" + b"\x00" + d["body"]
    assert signer.sign(d["signed_bytes"]).signature == d["signature"]
    nacl.signing.VerifyKey(d["public_key"]).verify(d["signed_bytes"], d["signature"])
    outer = {"body": d["body"], "sig": d["signature"]}
    assert msgpack.packb(outer, use_bin_type=True) == d["signed_tx"]
    assert sha256(d["signed_tx"]) == d["tx_id"]
    assert sha256(b"\x00" + d["tx_id"]) == d["leaf_0"]
    assert sha256(b"\x00" + d["tx_id_2"]) == d["leaf_1"]
    assert sha256(b"\x01" + d["leaf_0"] + d["leaf_1"]) == d["txs_root"]
    assert d["audit_path_1"] == d["leaf_0"]


def test_example_decodes_and_verifies() -> None:
    tx = SignedTx.decode(DOCUMENT["signed_tx"])
    tx.verify_signature(CHAIN)
    assert tx.id == DOCUMENT["tx_id"]
    assert tx.body.sender == DOCUMENT["public_key"]


def test_audit_path_verifies_and_only_for_its_place() -> None:
    root, path = DOCUMENT["txs_root"], [DOCUMENT["audit_path_1"]]
    assert verify_merkle_proof(root, DOCUMENT["tx_id_2"], 1, 2, path)
    assert not verify_merkle_proof(root, DOCUMENT["tx_id_2"], 0, 2, path)
    assert not verify_merkle_proof(root, DOCUMENT["tx_id"], 1, 2, path)
    assert node_hash(DOCUMENT["leaf_0"], DOCUMENT["leaf_1"]) == root


def test_state_proofs_section_matches_the_verifier() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## 11. State proofs", 1)[1].split("\n## ", 1)[0]
    assert "STATE.md" in section
    # The constants the section states are the ones the verifier uses.
    from chain import smt_proof

    assert smt_proof.LEAF_PREFIX == b"\x00" and "0x00 \\|\\| key_hash" in section
    assert smt_proof.NODE_PREFIX == b"\x01" and "0x01 \\|\\| left" in section
    assert smt_proof.EMPTY == bytes(32) and "32 zero bytes" in section
    for name in ("depth", "empty", "end", "leaf", "siblings"):
        assert f"`{name}`" in section
