"""egov genesis new / add-validator / add-authority / validate."""

from __future__ import annotations

import json
from pathlib import Path

from chain.genesis import Genesis
from chain.keys import dev_key
from tests.cli.conftest import Run, genesis_file


def assemble(tmp_path: Path, run: Run) -> Path:
    out = tmp_path / "genesis.json"
    result = run(
        "genesis", "new", "--chain-id", "ua-gov", "--out", out,
        "--modules", "identity", "--genesis-time", "2026-03-01T00:00:00Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for i in (1, 2, 3):
        result = run(
            "genesis", "add-validator", out, "--name", f"ministry-{i}",
            "--power", 10, "--key", dev_key(f"v{i}").public.hex(),
            "--node-key", dev_key(f"n{i}").public.hex(),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    result = run(
        "genesis", "add-authority", out, "--name", "Ministry of Digital",
        "--key", dev_key("a1").public.hex(), "--role", "identity_authority",
        "--attr", "region=kyiv",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_agencies_assemble_a_genesis_that_validates(tmp_path: Path, run: Run) -> None:
    out = assemble(tmp_path, run)
    result = run("genesis", "validate", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    gen = Genesis.load(out)
    assert summary["hash"] == gen.hash.hex()
    assert summary["validators"] == 3 and summary["total_power"] == 30
    assert gen.authorities[0].attributes == {"region": "kyiv"}
    assert gen.authorities[0].roles == ("identity_authority",)
    text = run("genesis", "validate", out).stdout
    assert "valid" in text and gen.hash.hex() in text


def test_a_new_genesis_without_validators_does_not_validate(
    tmp_path: Path, run: Run
) -> None:
    out = tmp_path / "g.json"
    run("genesis", "new", "--chain-id", "x", "--out", out, "--modules", "identity")
    result = run("genesis", "validate", out)
    assert result.exit_code == 1
    assert "validators" in result.stderr


def test_validate_names_the_wrong_field(tmp_path: Path, run: Run) -> None:
    doc = json.loads(genesis_file(tmp_path).read_text())
    doc["validators"][2]["power"] = 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = run("genesis", "validate", bad)
    assert result.exit_code == 1
    assert "validators[2].power" in result.stderr
    doc["validators"][2]["power"] = 1
    doc["modules"] = ["identity", "no_such_module"]
    bad.write_text(json.dumps(doc))
    result = run("genesis", "validate", bad)
    assert result.exit_code == 1 and "modules" in result.stderr
    bad.write_text("{not json")
    result = run("genesis", "validate", bad)
    assert result.exit_code == 1 and "JSON" in result.stderr


def test_additions_refuse_bad_keys_and_duplicates(tmp_path: Path, run: Run) -> None:
    out = assemble(tmp_path, run)
    before = out.read_text()
    result = run(
        "genesis", "add-validator", out, "--name", "x", "--power", 1,
        "--key", "abcd", "--node-key", dev_key("n9").public.hex(),
    )  # fmt: skip
    assert result.exit_code == 2 and "32 bytes" in result.output
    result = run(
        "genesis", "add-validator", out, "--name", "ministry-1", "--power", 1,
        "--key", dev_key("v9").public.hex(), "--node-key", dev_key("n9").public.hex(),
    )  # fmt: skip
    assert result.exit_code == 1 and "genesis.duplicate" in result.stderr
    result = run(
        "genesis", "add-authority", out, "--name", "again",
        "--key", dev_key("a1").public.hex(), "--role", "auctioneer",
    )  # fmt: skip
    assert result.exit_code == 1 and "genesis.duplicate" in result.stderr
    result = run(
        "genesis", "add-authority", out, "--name", "x",
        "--key", dev_key("a2").public.hex(), "--role", "auctioneer", "--attr", "bad",
    )  # fmt: skip
    assert result.exit_code == 2
    assert out.read_text() == before


def test_new_refuses_to_overwrite_and_bad_options(tmp_path: Path, run: Run) -> None:
    out = assemble(tmp_path, run)
    result = run("genesis", "new", "--chain-id", "y", "--out", out)
    assert result.exit_code == 1 and "genesis.exists" in result.stderr
    result = run(
        "genesis", "new", "--chain-id", "y", "--out", tmp_path / "y.json",
        "--modules", "registry",
    )  # fmt: skip
    assert result.exit_code == 2 and "identity" in result.output
    result = run(
        "genesis", "new", "--chain-id", "y", "--out", tmp_path / "y.json",
        "--genesis-time", "yesterday",
    )  # fmt: skip
    assert result.exit_code == 2
