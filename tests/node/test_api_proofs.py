"""A client that trusts only its genesis checks the node's answers.

The verification below uses nothing but ``chain/``: value -> proof ->
state_root -> header -> header hash -> commit signatures of more than two
thirds of the genesis validators. The same for a transaction's inclusion.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from chain.block import Header
from chain.encoding import decode
from chain.genesis import Genesis
from chain.hashing import sha256, verify_merkle_proof
from chain.keys import dev_key
from chain.smt_proof import proof_from_json, verify
from chain.votes import Commit, CommitError
from tests.node.test_api import (  # noqa: F401 (fixtures)
    ApiNode,
    client_fixture,
    enrol,
    node_fixture,
)


class Untrusted(Exception):
    pass


def verify_state_answer(gen: Genesis, key: bytes, answer: dict[str, Any]) -> Any:
    """The value the answer proves for ``key``, or Untrusted."""
    if bytes.fromhex(answer["key"]) != key:
        raise Untrusted("answer is for another key")
    raw = answer["value_raw"]
    value = None if raw is None else bytes.fromhex(raw)
    root = bytes.fromhex(answer["state_root"])
    if not verify(root, key, value, proof_from_json(answer["proof"])):
        raise Untrusted("proof does not lead to the state root")
    header_raw = bytes.fromhex(answer["header_raw"])
    header = Header.from_value(decode(header_raw))
    if header.encode() != header_raw or header.chain != gen.chain_id:
        raise Untrusted("header is not canonical or not of this chain")
    if header.state_root != root or header.height != answer["height"]:
        raise Untrusted("header does not hold this state root")
    if header.validators_hash != gen.validators.hash:
        raise Untrusted("header names another validator set")
    commit = Commit.decode(bytes.fromhex(answer["commit_raw"]))
    try:
        commit.verify(gen.chain_id, gen.validators, header.height, header.hash())
    except CommitError as exc:
        raise Untrusted(f"commit does not sign the header: {exc.code}") from exc
    return None if value is None else decode(value)


async def test_state_proof_verifies_client_side(
    node: ApiNode,
    client: httpx.AsyncClient,
) -> None:
    gen = node.genesis
    node.commit([enrol(gen, n) for n in (1, 2, 3)])
    node.commit([enrol(gen, 4)])
    citizen = dev_key("citizen/2").public.hex()
    key = f"identity/key/{citizen}".encode()
    answer = (await client.get(f"/v1/state/identity/key/{citizen}")).json()
    value = verify_state_answer(gen, key, answer)
    assert value["status"] == "active"
    assert answer["height"] == 2

    absent_key = b"identity/key/" + b"00" * 32
    absent = (await client.get(f"/v1/state/{absent_key.hex()}")).json()
    assert verify_state_answer(gen, absent_key, absent) is None


@pytest.mark.parametrize(
    "tamper",
    ["value", "absent", "root", "header", "commit_height", "commit_sig", "other_key"],
)
async def test_tampered_state_answers_are_refused(
    node: ApiNode,
    client: httpx.AsyncClient,
    tamper: str,
) -> None:
    gen = node.genesis
    node.commit([enrol(gen, 1)])
    node.commit([])
    citizen = dev_key("citizen/1").public.hex()
    key = f"identity/key/{citizen}".encode()
    answer = (await client.get(f"/v1/state/{key.hex()}")).json()
    verify_state_answer(gen, key, answer)
    forged = dict(answer)
    if tamper == "value":
        forged["value_raw"] = answer["value_raw"][:-2] + "00"
    elif tamper == "absent":
        forged["value_raw"] = None
    elif tamper == "root":
        forged["state_root"] = "11" * 32
    elif tamper == "header":  # a real header and commit, of the previous height
        earlier = (await client.get("/v1/blocks/1")).json()
        forged["header_raw"] = earlier["header_raw"]
        forged["commit_raw"] = earlier["commit_raw"]
    elif tamper == "commit_height":
        forged["commit_raw"] = (await client.get("/v1/blocks/1")).json()["commit_raw"]
    elif tamper == "commit_sig":
        commit = decode(bytes.fromhex(answer["commit_raw"]))
        sig = bytearray(commit["signatures"][0]["sig"])
        sig[0] ^= 1
        commit["signatures"][0]["sig"] = bytes(sig)
        forged["commit_raw"] = Commit.from_value(commit).encode().hex()
    else:
        forged["key"] = (key + b"x").hex()
    with pytest.raises(Untrusted):
        verify_state_answer(gen, key, forged)


async def test_tx_inclusion_proof_verifies_client_side(
    node: ApiNode,
    client: httpx.AsyncClient,
) -> None:
    gen = node.genesis
    txs = [enrol(gen, n) for n in range(1, 8)]
    node.commit(txs)
    for tx in (txs[0], txs[4], txs[6]):
        answer = (await client.get(f"/v1/tx/{tx.id.hex()}")).json()
        raw = bytes.fromhex(answer["tx_raw"])
        assert sha256(raw) == tx.id == bytes.fromhex(answer["id"])
        proof = answer["proof"]
        root = bytes.fromhex(proof["txs_root"])
        path = [bytes.fromhex(h) for h in proof["path"]]
        assert verify_merkle_proof(root, tx.id, proof["index"], proof["size"], path)
        assert not verify_merkle_proof(root, tx.id, proof["index"] ^ 1, 7, path)
        block = (await client.get(f"/v1/blocks/{answer['height']}")).json()
        header = Header.from_value(decode(bytes.fromhex(block["header_raw"])))
        assert header.txs_root == root
        assert header.hash().hex() == answer["block_hash"]
        Commit.decode(bytes.fromhex(block["commit_raw"])).verify(
            gen.chain_id, gen.validators, header.height, header.hash()
        )
