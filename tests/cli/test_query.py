"""egov query (proven), query-module, status and block against a fake node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chain import encoding
from chain.block import Header
from chain.keys import dev_key
from chain.votes import Commit
from node.devnet import dev_genesis
from tests.cli.conftest import ADMIN, Run, genesis_file
from tests.cli.fakenode import FakeNode

KEY_PATH = f"key/{ADMIN.public.hex()}"


def query(run: Run, node: FakeNode, tmp_path: Path, *extra: Any) -> Any:
    return run(
        "query", "identity", KEY_PATH, "--genesis", genesis_file(tmp_path), *extra,
        node=node,
    )  # fmt: skip


def test_an_honest_answer_verifies_and_prints_the_value(
    tmp_path: Path, run: Run, node: FakeNode
) -> None:
    result = query(run, node, tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"person": "p1", "status": "active"}
    assert "verified value at height 2" in result.stderr
    assert "signed by 4 of 4 validators" in result.stderr
    doc = json.loads(query(run, node, tmp_path, "--json").stdout)
    assert doc["verified"] is True and doc["present"] is True
    assert doc["height"] == 2
    assert doc["state_root"] == node.app.store.state_root.hex()
    assert bytes.fromhex(doc["key"]) == f"identity/{KEY_PATH}".encode()


def test_an_absent_key_is_proven_absent(
    tmp_path: Path, run: Run, node: FakeNode
) -> None:
    result = run(
        "query", "identity", "person/p999", "--genesis", genesis_file(tmp_path),
        "--json", node=node,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["present"] is False and doc["value"] is None and doc["verified"]


def _flip(hex_text: str, at: int = -1) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[at] ^= 0x01
    return raw.hex()


def tamper_value(doc: dict[str, Any]) -> None:
    doc["value_raw"] = encoding.encode({"person": "p2", "status": "active"}).hex()


def tamper_proof(doc: dict[str, Any]) -> None:
    doc["proof"]["siblings"][0] = _flip(doc["proof"]["siblings"][0])


def tamper_header(doc: dict[str, Any]) -> None:
    header = Header.from_value(encoding.decode(bytes.fromhex(doc["header_raw"])))
    forged = Header(**{**header.__dict__, "time": header.time + 1})
    doc["header_raw"] = forged.encode().hex()


def tamper_root(doc: dict[str, Any]) -> None:
    doc["state_root"] = _flip(doc["state_root"])


def tamper_signature(doc: dict[str, Any]) -> None:
    commit = Commit.decode(bytes.fromhex(doc["commit_raw"]))
    value = commit.to_value()
    sig = value["signatures"][1]
    sig["sig"] = bytes.fromhex(_flip(sig["sig"].hex()))
    doc["commit_raw"] = encoding.encode(value).hex()


def tamper_quorum(doc: dict[str, Any]) -> None:
    value = Commit.decode(bytes.fromhex(doc["commit_raw"])).to_value()
    value["signatures"] = value["signatures"][:2]  # 20 of 40: not > 2/3
    doc["commit_raw"] = encoding.encode(value).hex()


def tamper_key(doc: dict[str, Any]) -> None:
    doc["key"] = b"identity/person/p1".hex()


@pytest.mark.parametrize(
    ("tamper", "step"),
    [
        (tamper_value, "verify.proof"),
        (tamper_proof, "verify.proof"),
        (tamper_header, "verify.commit"),
        (tamper_root, "verify.state_root"),
        (tamper_signature, "verify.commit"),
        (tamper_quorum, "verify.commit"),
        (tamper_key, "verify.key"),
    ],
)
def test_a_tampered_answer_is_refused_with_exit_2(
    tmp_path: Path, run: Run, node: FakeNode, tamper: Any, step: str
) -> None:
    def lie(path: str, doc: dict[str, Any]) -> None:
        if path.startswith("/v1/state/"):
            tamper(doc)

    node.tamper = lie
    result = query(run, node, tmp_path)
    assert result.exit_code == 2, result.output
    assert step in result.stderr and "not printing it" in result.stderr
    assert result.stdout == ""


def test_a_commit_from_other_validators_is_refused(
    tmp_path: Path, run: Run, node: FakeNode
) -> None:
    other = tmp_path / "other.json"
    doc = dev_genesis(4, modules=("identity",))
    doc["validators"][0]["key"] = dev_key("someone-else").public.hex()
    other.write_text(json.dumps(doc))
    result = run("query", "identity", KEY_PATH, "--genesis", other, node=node)
    assert result.exit_code == 2 and "verify." in result.stderr


def test_without_genesis_the_node_genesis_is_used_with_a_warning(
    run: Run, node: FakeNode
) -> None:
    result = run("query", "identity", KEY_PATH, node=node)
    assert result.exit_code == 0, result.output
    assert "warning" in result.stderr and "trustworthy" in result.stderr
    assert "GET /v1/genesis" in node.requests


def test_no_verify_prints_the_node_word(run: Run, node: FakeNode) -> None:
    node.tamper = lambda path, doc: doc.update(value={"anything": 1})
    result = run("query", "identity", KEY_PATH, "--no-verify", node=node)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"anything": 1}
    assert "--no-verify" in result.stderr
    assert "GET /v1/genesis" not in node.requests


def test_query_module_passes_params(run: Run, node: FakeNode) -> None:
    result = run(
        "query-module", "identity", "role", "role=identity_authority", node=node
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ["p1"]
    result = run("query-module", "identity", "nope", node=node)
    assert result.exit_code == 1 and "query.unknown" in result.stderr
    result = run("query-module", "identity", "role", "bad", node=node)
    assert result.exit_code == 2


def test_status_prints_chain_and_height(run: Run, node: FakeNode) -> None:
    result = run("status", node=node)
    assert result.exit_code == 0
    assert "chain_id:" in result.stdout and "egov-dev" in result.stdout
    doc = json.loads(run("status", "--json", node=node).stdout)
    assert doc["height"] == 2


def test_block_by_height_and_latest(run: Run, node: FakeNode) -> None:
    result = run("block", 1, node=node)
    assert result.exit_code == 0, result.output
    block = node.app.get_block(1)
    assert block is not None
    assert block.hash().hex() in result.stdout
    assert "txs:        2" in result.stdout and "identity.enrol -> ok" in result.stdout
    doc = json.loads(run("block", "latest", "--json", node=node).stdout)
    assert doc["height"] == 2
    result = run("block", 99, node=node)
    assert result.exit_code == 1 and "block.not_found" in result.stderr
    assert run("block", "zero", node=node).exit_code == 2
