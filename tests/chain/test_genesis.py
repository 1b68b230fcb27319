"""The genesis document: a good one loads, each broken one names its field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain import encoding
from chain.errors import ChainError, GenesisError
from chain.genesis import DEFAULT_CONSENSUS, Genesis, format_time, parse_time
from chain.hashing import sha256
from chain.keys import dev_key
from tests.chain.support import mutated

KEY_A = dev_key("validator-0").public.hex()
KEY_B = dev_key("validator-1").public.hex()
NODE_A = dev_key("node-0").public.hex()
NODE_B = dev_key("node-1").public.hex()
OBSERVER = dev_key("observer-0").public.hex()
AUTHORITY = dev_key("authority-0").public.hex()


def good_doc() -> dict[str, Any]:
    return {
        "comment": "INSECURE test chain",
        "chain_id": "egov-test",
        "genesis_time": "2026-01-01T00:00:00Z",
        "validators": [
            {"name": "ministry-a", "power": 10, "key": KEY_A, "node_key": NODE_A},
            {"name": "region-b", "power": 5, "key": KEY_B, "node_key": NODE_B},
        ],
        "observers": [{"name": "auditor", "node_key": OBSERVER}],
        "consensus": {"timeout_propose_ms": 2000},
        "modules": ["identity", "petition"],
        "module_config": {"petition": {"threshold": 3, "regions": ["north"]}},
        "authorities": [
            {
                "name": "Civil registry",
                "key": AUTHORITY,
                "roles": ["identity_authority"],
                "attributes": {"region": "north"},
            }
        ],
    }


def test_good_document() -> None:
    g = Genesis.from_json(good_doc())
    assert g.chain_id == "egov-test"
    assert g.genesis_time == 1_767_225_600_000
    assert g.validators.total_power == 15
    assert g.consensus == {**DEFAULT_CONSENSUS, "timeout_propose_ms": 2000}
    assert g.modules == ("identity", "petition")
    assert g.authorities[0].roles == ("identity_authority",)
    assert g.allowed_node_keys() == {
        bytes.fromhex(k) for k in (NODE_A, NODE_B, OBSERVER)
    }


def test_optional_sections_have_defaults() -> None:
    doc = good_doc()
    for name in ("observers", "consensus", "module_config", "authorities", "comment"):
        del doc[name]
    g = Genesis.from_json(doc)
    assert g.observers == () and g.authorities == ()
    assert g.consensus == DEFAULT_CONSENSUS and g.module_config == {}


def test_hash_is_sha256_of_the_canonical_parsed_document() -> None:
    g = Genesis.from_json(good_doc())
    assert g.hash == sha256(encoding.encode(g.to_value()))
    # The comment and the order of keys in the file do not matter ...
    doc = good_doc()
    del doc["comment"]
    shuffled = dict(reversed(list(doc.items())))
    assert Genesis.from_json(shuffled).hash == g.hash
    # ... but every value does, including defaults filled in.
    doc["consensus"] = {"timeout_propose_ms": 2001}
    assert Genesis.from_json(doc).hash != g.hash


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(good_doc(), indent=2))
    assert Genesis.load(path).hash == Genesis.from_json(good_doc()).hash


def edit(path: str, value: Any) -> dict[str, Any]:
    """good_doc() with the value at a dotted path replaced (DELETE removes it)."""
    doc = good_doc()
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return doc


DELETE = object()
LONG = "x" * 65


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ([], "genesis"),
        ("genesis", "genesis"),
        (edit("chian_id", "egov"), "chian_id"),
        (edit("chain_id", DELETE), "chain_id"),
        (edit("chain_id", ""), "chain_id"),
        (edit("chain_id", LONG), "chain_id"),
        (edit("chain_id", 7), "chain_id"),
        (edit("genesis_time", DELETE), "genesis_time"),
        (edit("genesis_time", 1_767_225_600), "genesis_time"),
        (edit("genesis_time", "2026-01-01T00:00:00"), "genesis_time"),
        (edit("genesis_time", "2026-01-01T00:00:00+01:00"), "genesis_time"),
        (edit("genesis_time", "2026-01-01T00:00:00+01:00Z"), "genesis_time"),
        (edit("genesis_time", "2026-13-01T00:00:00Z"), "genesis_time"),
        (edit("genesis_time", "yesterday"), "genesis_time"),
        (edit("validators", DELETE), "validators"),
        (edit("validators", {}), "validators"),
        (edit("validators", []), "validators"),
        (edit("validators.0", "ministry-a"), "validators[0]"),
        (edit("validators.1.power", 0), "validators[1].power"),
        (edit("validators.1.power", -5), "validators[1].power"),
        (edit("validators.1.power", True), "validators[1].power"),
        (edit("validators.1.power", "5"), "validators[1].power"),
        (edit("validators.1.power", 2**40 + 1), "validators[1].power"),
        (edit("validators.1.power", DELETE), "validators[1].power"),
        (edit("validators.0.name", ""), "validators[0].name"),
        (edit("validators.0.name", LONG), "validators[0].name"),
        (edit("validators.0.name", DELETE), "validators[0].name"),
        (edit("validators.0.key", KEY_A[:-2]), "validators[0].key"),
        (edit("validators.0.key", KEY_A + "00"), "validators[0].key"),
        (edit("validators.0.key", "zz" * 32), "validators[0].key"),
        (edit("validators.0.key", DELETE), "validators[0].key"),
        (edit("validators.0.key", 5), "validators[0].key"),
        (edit("validators.1.node_key", NODE_A[:10]), "validators[1].node_key"),
        (edit("validators.1.key", KEY_A), "validators"),
        (edit("validators.1.node_key", NODE_A), "validators"),
        (edit("observers", {}), "observers"),
        (edit("observers.0", 1), "observers[0]"),
        (edit("observers.0.name", DELETE), "observers[0].name"),
        (edit("observers.0.node_key", "00"), "observers[0].node_key"),
        (edit("consensus", []), "consensus"),
        (edit("consensus.timeout_propose_ms", 0), "consensus.timeout_propose_ms"),
        (edit("consensus.timeout_propose_ms", -1), "consensus.timeout_propose_ms"),
        (edit("consensus.timeout_propose_ms", "1"), "consensus.timeout_propose_ms"),
        (edit("consensus.timeout_propose_ms", True), "consensus.timeout_propose_ms"),
        (edit("consensus.timeout_propose_ms", 2**63), "consensus.timeout_propose_ms"),
        (edit("consensus.block_ms", 1), "consensus.block_ms"),
        (edit("modules", DELETE), "modules"),
        (edit("modules", "identity"), "modules"),
        (edit("modules.1", "Petition"), "modules[1]"),
        (edit("modules.1", "petition\n"), "modules[1]"),
        (edit("modules.1", 3), "modules[1]"),
        (edit("modules.1", "identity"), "modules"),
        (edit("module_config", []), "module_config"),
        (edit("module_config.auction", {}), "module_config.auction"),
        (edit("module_config.petition.threshold", 2**64), "module_config"),
        (edit("authorities", {}), "authorities"),
        (edit("authorities.0", []), "authorities[0]"),
        (edit("authorities.0.name", ""), "authorities[0].name"),
        (edit("authorities.0.key", DELETE), "authorities[0].key"),
        (edit("authorities.0.roles", "registrar"), "authorities[0].roles"),
        (edit("authorities.0.roles", [""]), "authorities[0].roles"),
        (edit("authorities.0.roles", [7]), "authorities[0].roles"),
        (edit("authorities.0.attributes", []), "authorities[0].attributes"),
        (edit("authorities.0.attributes", {"a": 1}), "authorities[0].attributes"),
        (edit("authorities", good_doc()["authorities"] * 2), "authorities"),
    ],
)
def test_broken_document_names_the_field(doc: Any, field: str) -> None:
    with pytest.raises(GenesisError) as info:
        Genesis.from_json(doc)
    assert info.value.field == field
    assert info.value.code == "genesis.invalid"
    assert str(info.value).startswith(f"genesis.invalid: {field}: ")


def test_lone_surrogates_are_refused() -> None:
    # JSON can spell a string that has no UTF-8 form: "\ud800".
    doc = json.loads(json.dumps(good_doc()).replace("Civil registry", "\\ud800"))
    with pytest.raises(GenesisError):
        Genesis.from_json(doc)


@pytest.mark.parametrize(
    "text",
    [
        '{"chain_id": "egov", "x": 1.5}',
        '{"validators": [{"power": 1.0}]}',
        '{"consensus": {"timeout_propose_ms": 1e3}}',
    ],
)
def test_floats_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "genesis.json"
    path.write_text(text)
    with pytest.raises(GenesisError) as info:
        Genesis.load(path)
    assert info.value.field == "file"
    assert "float" in info.value.message


def test_float_values_given_directly_are_refused() -> None:
    with pytest.raises(GenesisError) as info:
        Genesis.from_json(edit("validators.0.power", 10.0))
    assert info.value.field == "validators[0].power"
    with pytest.raises(GenesisError) as info:
        Genesis.from_json(edit("module_config.petition.threshold", 0.5))
    assert info.value.field == "module_config"


@pytest.mark.parametrize("content", ["", "{", "[1,", "\x00", "nul"])
def test_not_json(tmp_path: Path, content: str) -> None:
    path = tmp_path / "genesis.json"
    path.write_text(content)
    with pytest.raises(GenesisError) as info:
        Genesis.load(path)
    assert info.value.field == "file"


def test_missing_or_unreadable_file(tmp_path: Path) -> None:
    for path in (tmp_path / "absent.json", tmp_path):
        with pytest.raises(GenesisError) as info:
            Genesis.load(path)
        assert info.value.field == "file"
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"chain_id": "\xe9"}')
    with pytest.raises(GenesisError):
        Genesis.load(bad)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2026-01-01T00:00:00Z", 1_767_225_600_000),
        ("2026-01-01T00:00:00.250Z", 1_767_225_600_250),
    ],
)
def test_times(text: str, ms: int) -> None:
    assert parse_time(text) == ms
    assert parse_time(format_time(ms)) == ms


@given(st.integers(0, 253_402_300_799_999))
def test_format_parse_round_trip(ms: int) -> None:
    assert parse_time(format_time(ms)) == ms


# -- fuzzing -------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=70),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def damaged_documents(draw: st.DrawFn) -> Any:
    """The good document with one value somewhere replaced by a random one."""
    doc = copy.deepcopy(good_doc())
    node: Any = doc
    while True:
        keys = list(range(len(node))) if isinstance(node, list) else list(node)
        if not keys:
            return doc
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, (dict, list)) and draw(st.booleans()):
            node = child
            continue
        node[key] = draw(json_values)
        return doc


def parse_or_genesis_error(doc: Any) -> None:
    try:
        assert len(Genesis.from_json(doc).hash) == 32
    except GenesisError:
        pass


@settings(max_examples=120)
@given(damaged_documents())
def test_fuzz_damaged_documents(doc: Any) -> None:
    parse_or_genesis_error(doc)


@settings(max_examples=60)
@given(json_values)
def test_fuzz_random_documents(doc: Any) -> None:
    parse_or_genesis_error(doc)


GOOD_TEXT = json.dumps(good_doc()).encode()


@settings(max_examples=100)
@given(mutated(st.just(GOOD_TEXT)))
def test_fuzz_mutated_files(data: bytes) -> None:
    try:
        doc = json.loads(data)
    except ValueError:
        return  # Genesis.load reports these as field "file"
    try:
        assert len(Genesis.from_json(doc).hash) == 32
    except ChainError as exc:
        assert isinstance(exc, GenesisError)
