"""egov export / import, the chain file, and audit --file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chain import encoding
from cli.chainfile import MAGIC, ChainFileError, ChainFileReader, ChainFileWriter
from node.devnet import dev_genesis
from storage.store import Store
from tests.cli.conftest import GENESIS_DOC, ChainHome, Run, fill
from tests.cli.fakenode import FakeNode


def export(run: Run, home: ChainHome, out: Path) -> None:
    result = run("export", "--home", home.root, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"exported 4 blocks to {out}"


def test_export_import_audit_file_round_trip(
    home: ChainHome, run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "chain.egov"
    export(run, home, out)
    result = run("audit", "--file", out, "--genesis", home.genesis_file, "--json")
    assert result.exit_code == 0, result.output
    audited = json.loads(result.stdout)
    with Store.open(home.db) as store:
        assert audited["state_root"] == store.state_root.hex()
    target = tmp_path / "imported"
    result = run("import", out, "--home", target)
    assert result.exit_code == 0, result.output
    assert "imported 4 blocks (8 transactions)" in result.stdout
    assert audited["state_root"] in result.stdout
    result = run("audit", "--home", target, "--json")
    assert json.loads(result.stdout)["state_root"] == audited["state_root"]
    result = run("import", out, "--home", target)
    assert result.exit_code == 1 and "import.not_empty" in result.stderr


def test_import_into_a_home_made_by_init(
    home: ChainHome, run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "chain.egov"
    export(run, home, out)
    target = tmp_path / "n"
    run("init", "--home", target, "--genesis", home.genesis_file)
    result = run("import", out, "--home", target, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["blocks"] == 4
    other = tmp_path / "o"
    doc = dev_genesis(4, modules=("identity",), chain_id="other")
    (tmp_path / "other.json").write_text(json.dumps(doc))
    run("init", "--home", other, "--genesis", tmp_path / "other.json")
    result = run("import", out, "--home", other)
    assert result.exit_code == 1 and "genesis" in result.stderr


def test_export_from_a_node_equals_export_from_its_home(
    run: Run, node: FakeNode, tmp_path: Path
) -> None:
    fill(node.app, 2)
    out = tmp_path / "node.egov"
    result = run("export", "--node", "http://fake", "--out", out, "--json", node=node)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"file": str(out), "blocks": 4}
    with ChainFileReader(out) as reader:
        assert reader.genesis_doc == json.loads(json.dumps(GENESIS_DOC))
        heights = [r.height for r in reader.records()]
    assert heights == [1, 2, 3, 4]
    assert run("export", "--node", "x", "--out", out, node=node).exit_code == 1
    assert run("export", "--out", out).exit_code == 2


def test_a_tampered_file_fails_the_audit_at_its_height(
    home: ChainHome, run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "chain.egov"
    export(run, home, out)
    forged = tmp_path / "forged.egov"
    with ChainFileReader(out) as reader:
        writer = ChainFileWriter(forged, reader.genesis_doc)
        for record in reader.records():
            block = record.block
            if record.height == 3:
                value = encoding.decode(block)
                value["header"]["time"] += 1
                block = encoding.encode(value)
            writer.add(record.height, block, record.commit)
        writer.finish()
    result = run("audit", "--file", forged)
    assert result.exit_code == 1
    assert "height 3: commit:" in result.stderr
    assert "trusting the genesis" in result.stderr
    result = run("import", forged, "--home", tmp_path / "h")
    assert result.exit_code == 1 and "height 3" in result.stderr
    assert "keeps the 2 blocks" in result.stderr


def test_a_cut_or_foreign_file_is_refused(
    home: ChainHome, run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "chain.egov"
    export(run, home, out)
    data = out.read_bytes()
    cut = tmp_path / "cut.egov"
    cut.write_bytes(data[:-3])
    result = run("audit", "--file", cut)
    assert result.exit_code == 1 and "chainfile.invalid" in result.stderr
    foreign = tmp_path / "foreign.egov"
    foreign.write_bytes(b"PK\x03\x04" + data)
    result = run("audit", "--file", foreign)
    assert result.exit_code == 1 and "not a chain file" in result.stderr
    other = tmp_path / "other.json"
    other.write_text(json.dumps(dev_genesis(4, modules=("identity",), chain_id="o")))
    result = run("audit", "--file", out, "--genesis", other)
    assert result.exit_code == 1 and "height 0: genesis" in result.stderr


def _record(value: dict) -> bytes:  # type: ignore[type-arg]
    data = encoding.encode(value)
    return len(data).to_bytes(4, "big") + data


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "genesis header"),
        (_record({"genesis": "{}"}), "before its trailer"),
        (_record({"genesis": "{}"}) + _record({"end": 3}), "trailer says"),
        (_record({"genesis": "[]"}), "not a JSON object"),
        (
            _record({"genesis": "{}"})
            + _record({"block": b"", "commit": b"", "height": 2}),
            "malformed",
        ),
        (_record({"genesis": "{}"}) + _record({"end": 0}) + b"x", "after the trailer"),
        (_record({"genesis": "{}"}) + b"\xff\xff\xff\xff", "over the limit"),
    ],
)
def test_the_reader_refuses_malformed_files(
    tmp_path: Path, body: bytes, message: str
) -> None:
    path = tmp_path / "f"
    path.write_bytes(MAGIC + body)
    with pytest.raises(ChainFileError, match=message):
        with ChainFileReader(path) as reader:
            list(reader.records())


def test_a_non_canonical_record_is_refused(tmp_path: Path) -> None:
    import msgpack

    data = msgpack.packb({"height": 1, "commit": b"", "block": b""})  # unsorted
    path = tmp_path / "f"
    path.write_bytes(
        MAGIC + _record({"genesis": "{}"}) + len(data).to_bytes(4, "big") + data
    )
    with pytest.raises(ChainFileError, match="canonical"):
        with ChainFileReader(path) as reader:
            list(reader.records())
