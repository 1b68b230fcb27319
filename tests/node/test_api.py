"""The HTTP API over a node with no network: every endpoint, success and error.

``ApiNode`` implements ``NodeView`` over a real application and mempool;
``commit`` makes a block of what is pending, as the service would after
consensus decides it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chain.block import Block, Header
from chain.encoding import decode
from chain.genesis import Genesis
from chain.keys import dev_key
from chain.tx import SignedTx
from chain.validators import ValidatorSet
from chain.votes import Commit
from node.api import NodeView, create_api
from node.devnet import authority_key
from node.events import EventFeed
from node.mempool import Mempool
from node.metrics import Metrics
from tests.node.chainkit import Driver, genesis, make_tx, open_app

ADMIN = authority_key("authority/identity")


class ApiNode:
    """A NodeView over a real application and mempool, without a network."""

    def __init__(self, path: Path, gen: Genesis | None = None, **mempool: Any):
        self.genesis = gen or genesis()
        self.app = open_app(path, self.genesis)
        self.mempool = Mempool(self.app, **mempool)
        self.events = EventFeed(keep_blocks=8, height=self.app.height)
        self.metrics = Metrics()
        self.driver = Driver(self.app)
        self.gossiped: list[bytes] = []
        self.peer_list: list[dict[str, Any]] = []
        self.evidence_list: list[dict[str, Any]] = []

    def submit(self, raw: bytes) -> SignedTx:
        tx = self.mempool.add(raw)
        self.gossiped.append(tx.id)
        return tx

    def status(self) -> dict[str, Any]:
        return {
            "chain_id": self.genesis.chain_id,
            "height": self.app.height,
            "last_block_hash": self.app.store.last_block_hash,
            "syncing": False,
            "mempool": {"txs": len(self.mempool), "bytes": self.mempool.size_bytes},
        }

    def peers(self) -> list[dict[str, Any]]:
        return self.peer_list

    def evidence(self) -> list[dict[str, Any]]:
        return self.evidence_list

    def validators(self) -> ValidatorSet:
        return self.app.validators

    def commit(self, txs: list[SignedTx] | None = None) -> Block:
        """Commit a block of ``txs`` (default: everything pending)."""
        if txs is None:
            txs = self.mempool.reap(10_000, 8 * 1024 * 1024)
        block = self.driver.step(txs)
        self.mempool.update(block.txs)
        self.events.append_block(block, self.app.get_results(block.height))
        self.metrics.block_committed(block.height, len(block.txs), 0.25)
        return block

    def close(self) -> None:
        self.app.store.close()


def _typed(node: ApiNode) -> NodeView:
    return node  # mypy checks that ApiNode satisfies the protocol


def enrol(gen: Genesis, nonce: int, who: str | None = None) -> SignedTx:
    key = dev_key(who or f"citizen/{nonce}").public
    return make_tx(gen, ADMIN, nonce, "identity", "enrol", key=key, name=f"C {nonce}")


def error_of(response: httpx.Response) -> str:
    code = response.json()["error"]["code"]
    assert isinstance(code, str) and response.json()["error"]["message"]
    return code


@pytest.fixture(name="node")
def node_fixture(tmp_path: Path) -> Iterator[ApiNode]:
    n = ApiNode(tmp_path / "db")
    yield n
    n.close()


@pytest.fixture(name="client")
async def client_fixture(node: ApiNode) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_api(node))
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as c:
        yield c


async def post_tx(client: httpx.AsyncClient, tx: SignedTx | bytes) -> httpx.Response:
    raw = tx.raw if isinstance(tx, SignedTx) else tx
    return await client.post("/v1/tx", json={"tx": raw.hex()})


# --- POST /v1/tx -------------------------------------------------------------


async def test_submit_is_accepted_gossiped_and_pending(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    tx = enrol(node.genesis, 1)
    response = await post_tx(client, tx)
    assert response.status_code == 202
    assert response.json() == {"id": tx.id.hex()}
    assert node.gossiped == [tx.id]
    found = (await client.get(f"/v1/tx/{tx.id.hex()}")).json()
    assert found["status"] == "pending"
    assert found["height"] is None and found["proof"] is None
    assert found["body"]["sender"] == ADMIN.public.hex()
    assert found["body"]["args"]["key"] == dev_key("citizen/1").public.hex()
    assert found["tx_raw"] == tx.raw.hex()


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        ("tampered_sig", 400, "sig.invalid"),
        ("wrong_chain", 400, "tx.wrong_chain"),
        ("garbage", 400, "encoding.malformed"),
        ("bad_nonce", 400, "tx.bad_nonce"),
        ("unknown_sender", 400, "tx.unknown_sender"),
        ("module_rule", 400, "identity.key_in_use"),
        ("too_large", 413, "tx.too_large"),
    ],
)
async def test_submit_refusals_map_to_status(
    node: ApiNode, client: httpx.AsyncClient, make: str, status: int, code: str
) -> None:
    gen = node.genesis
    raw: bytes
    if make == "tampered_sig":
        tx = enrol(gen, 1)
        raw = SignedTx.create(tx.body, ADMIN).raw
        raw = raw[:-1] + bytes([raw[-1] ^ 1])
    elif make == "wrong_chain":
        other = genesis(chain_id="other-chain")
        raw = enrol(other, 1).raw
    elif make == "garbage":
        raw = b"\xc1not msgpack"
    elif make == "bad_nonce":
        raw = enrol(gen, 5).raw
    elif make == "unknown_sender":
        stranger = dev_key("stranger")
        raw = make_tx(
            gen, stranger, 1, "identity", "enrol", key=stranger.public, name="S"
        ).raw
    elif make == "module_rule":
        raw = make_tx(
            gen, ADMIN, 1, "identity", "enrol", key=ADMIN.public, name="Me again"
        ).raw
    else:
        raw = b"\x00" * (64 * 1024 + 1)
    response = await post_tx(client, raw)
    assert response.status_code == status, response.text
    got = error_of(response)
    assert got == code or (code.startswith("encoding.") and got.startswith("encoding."))
    assert len(node.mempool) == 0


async def test_submit_conflicts_are_409(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    first = enrol(node.genesis, 1)
    assert (await post_tx(client, first)).status_code == 202
    again = await post_tx(client, first)
    assert (again.status_code, error_of(again)) == (409, "mempool.duplicate")
    rival = enrol(node.genesis, 1, who="rival")
    taken = await post_tx(client, rival)
    assert (taken.status_code, error_of(taken)) == (409, "mempool.nonce_taken")


async def test_submit_to_a_full_mempool_is_503(tmp_path: Path) -> None:
    node = ApiNode(tmp_path / "db", max_txs=1)
    transport = httpx.ASGITransport(app=create_api(node))
    async with httpx.AsyncClient(transport=transport, base_url="http://n") as client:
        assert (await post_tx(client, enrol(node.genesis, 1))).status_code == 202
        full = await post_tx(client, enrol(node.genesis, 2))
    node.close()
    assert (full.status_code, error_of(full)) == (503, "mempool.full")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{", "api.bad_json"),
        (b"\xff\xfe\x00", "api.bad_json"),
        (b"[]", "api.bad_request"),
        (b'{"transaction": "00"}', "api.bad_request"),
        (b'{"tx": 12}', "api.bad_hex"),
        (b'{"tx": "abc"}', "api.bad_hex"),
        (b'{"tx": "zz"}', "api.bad_hex"),
        (b'{"tx": "00 11"}', "api.bad_hex"),
    ],
)
async def test_submit_malformed_requests_are_400(
    client: httpx.AsyncClient, body: bytes, code: str
) -> None:
    response = await client.post("/v1/tx", content=body)
    assert (response.status_code, error_of(response)) == (400, code)


# --- POST /v1/txs ------------------------------------------------------------


async def test_batch_reports_each_transaction(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    one, two = enrol(node.genesis, 1), enrol(node.genesis, 2)
    batch = [one.raw.hex(), two.raw.hex(), one.raw.hex(), "nothex", "c1"]
    response = await client.post("/v1/txs", json={"txs": batch})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0] == {"id": one.id.hex(), "accepted": True}
    assert results[1] == {"id": two.id.hex(), "accepted": True}
    assert results[2]["id"] == one.id.hex()
    assert (results[2]["accepted"], results[2]["code"]) == (False, "mempool.duplicate")
    assert results[3]["id"] is None and results[3]["code"] == "api.bad_hex"
    assert not results[4]["accepted"] and results[4]["code"].startswith("encoding.")
    assert len(node.mempool) == 2


async def test_batch_limits_and_shape(client: httpx.AsyncClient) -> None:
    too_many = await client.post("/v1/txs", json={"txs": ["00"] * 1001})
    assert (too_many.status_code, error_of(too_many)) == (400, "api.too_many_txs")
    for body in ({"txs": "00"}, {}, {"tx": ["00"]}):
        response = await client.post("/v1/txs", json=body)
        assert (response.status_code, error_of(response)) == (400, "api.bad_request")
    empty = await client.post("/v1/txs", json={"txs": []})
    assert empty.json() == {"results": []}


# --- GET /v1/tx/{id} ---------------------------------------------------------


async def test_committed_tx_has_result_events_and_proof(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    txs = [enrol(node.genesis, n) for n in (1, 2, 3)]
    block = node.commit(txs)
    found = (await client.get(f"/v1/tx/{txs[2].id.hex()}")).json()
    assert found["status"] == "committed"
    assert (found["height"], found["index"]) == (1, 2)
    assert found["block_hash"] == block.hash().hex()
    assert found["result"]["code"] == "ok"
    [event] = found["result"]["events"]
    assert event["type"] == "identity.enrolled"
    assert event["attrs"]["key"] == dev_key("citizen/3").public.hex()
    assert found["body"]["nonce"] == 3
    proof = found["proof"]
    assert proof["txs_root"] == block.header.txs_root.hex()
    assert (proof["index"], proof["size"]) == (2, 3)
    assert len(proof["path"]) == 1  # the last of three pairs with the first two


async def test_tx_lookup_errors(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/tx/" + "ab" * 32)
    assert (missing.status_code, error_of(missing)) == (404, "tx.not_found")
    for bad in ("xyz", "ab" * 31, "ab" * 33):
        response = await client.get(f"/v1/tx/{bad}")
        assert (response.status_code, error_of(response)) == (400, "api.bad_hex")


# --- blocks ------------------------------------------------------------------


async def test_block_by_height_and_latest(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    none_yet = await client.get("/v1/blocks/latest")
    assert (none_yet.status_code, error_of(none_yet)) == (404, "block.not_found")
    first = node.commit([enrol(node.genesis, 1), enrol(node.genesis, 2)])
    second = node.commit([])
    latest = (await client.get("/v1/blocks/latest")).json()
    assert latest["height"] == 2 and latest["hash"] == second.hash().hex()
    got = (await client.get("/v1/blocks/1")).json()
    assert got["hash"] == first.hash().hex()
    assert got["txs"] == [tx.id.hex() for tx in first.txs]
    assert got["header"]["height"] == 1
    assert got["header"]["state_root"] == first.header.state_root.hex()
    header_raw = bytes.fromhex(got["header_raw"])
    assert Header.from_value(decode(header_raw)) == first.header
    assert Block.decode(bytes.fromhex(got["block_raw"])).hash() == first.hash()
    commit = Commit.decode(bytes.fromhex(got["commit_raw"]))
    commit.verify(node.genesis.chain_id, node.genesis.validators, 1, first.hash())
    assert got["commit"]["block_hash"] == first.hash().hex()
    assert got["last_commit"] is None and got["evidence"] == []
    assert [r["code"] for r in got["results"]] == ["ok", "ok", "ok"]
    assert latest["last_commit"]["height"] == 1


async def test_block_errors(node: ApiNode, client: httpx.AsyncClient) -> None:
    node.commit([])
    for ref, status, code in [
        ("0", 404, "block.not_found"),
        ("2", 404, "block.not_found"),
        ("99999999999999999999", 400, "api.bad_param"),
        ("-1", 400, "api.bad_param"),
        ("one", 400, "api.bad_param"),
    ]:
        response = await client.get(f"/v1/blocks/{ref}")
        assert (response.status_code, error_of(response)) == (status, code), ref


async def test_block_pages_for_sync(node: ApiNode, client: httpx.AsyncClient) -> None:
    blocks = [node.commit([enrol(node.genesis, 1)]), node.commit([]), node.commit([])]
    page = (await client.get("/v1/blocks", params={"from": 2, "limit": 5})).json()
    assert page["height"] == 3
    assert [b["height"] for b in page["blocks"]] == [2, 3]
    for entry, block in zip(page["blocks"], blocks[1:], strict=True):
        assert bytes.fromhex(entry["block_raw"]) == block.encode()
        assert Commit.decode(bytes.fromhex(entry["commit_raw"])).block_hash == (
            block.hash()
        )
    default = (await client.get("/v1/blocks")).json()
    assert [b["height"] for b in default["blocks"]] == [1, 2, 3]
    past = (await client.get("/v1/blocks", params={"from": 9})).json()
    assert past == {"height": 3, "blocks": []}
    for params in ({"limit": 101}, {"limit": 0}, {"from": 0}, {"from": "x"}):
        response = await client.get("/v1/blocks", params=params)
        assert (response.status_code, error_of(response)) == (400, "api.bad_param")


# --- state, queries, nonces --------------------------------------------------


async def test_state_by_path_and_by_key(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    citizen = dev_key("citizen/1").public
    node.commit([enrol(node.genesis, 1)])
    by_path = (await client.get(f"/v1/state/identity/key/{citizen.hex()}")).json()
    key = f"identity/key/{citizen.hex()}".encode()
    assert by_path["key"] == key.hex()
    assert by_path["value"]["status"] == "active"
    assert by_path["height"] == 1
    assert by_path["state_root"] == node.app.store.state_root.hex()
    assert by_path["header_raw"] and by_path["commit_raw"]
    assert by_path["proof"]["end"] == 0
    by_key = (await client.get(f"/v1/state/{key.hex()}")).json()
    assert by_key == by_path
    absent = (await client.get("/v1/state/identity/key/none")).json()
    assert absent["value"] is None and absent["value_raw"] is None
    assert absent["proof"]["end"] in (1, 2)


async def test_state_at_genesis_has_no_header(client: httpx.AsyncClient) -> None:
    got = (await client.get("/v1/state/identity/anything")).json()
    assert got["height"] == 0
    assert got["header_raw"] is None and got["commit_raw"] is None


async def test_state_errors(client: httpx.AsyncClient) -> None:
    for path in ("/v1/state/xyz", "/v1/state/abc"):
        response = await client.get(path)
        assert (response.status_code, error_of(response)) == (400, "api.bad_hex")
    long_key = await client.get("/v1/state/m/" + "p" * 5000)
    assert (long_key.status_code, error_of(long_key)) == (400, "api.bad_param")


async def test_module_queries(node: ApiNode, client: httpx.AsyncClient) -> None:
    citizen = dev_key("citizen/1").public.hex()
    node.commit([enrol(node.genesis, 1)])
    got = await client.get("/v1/query/identity/key", params={"key": citizen})
    assert got.status_code == 200
    assert got.json()["result"]["status"] == "active"
    assert got.json()["height"] == 1
    person = got.json()["result"]["person"]
    record = await client.get("/v1/query/identity/person", params={"id": person})
    assert record.json()["result"]["keys"] == [citizen]
    nothing = await client.get("/v1/query/identity/key", params={"key": "00"})
    assert nothing.json()["result"] is None
    for path, code in [
        ("/v1/query/nope/key", "query.unknown_module"),
        ("/v1/query/identity/nope", "query.unknown"),
    ]:
        response = await client.get(path)
        assert (response.status_code, error_of(response)) == (404, code)


async def test_paged_module_queries_take_their_numbers_as_text(tmp_path: Path) -> None:
    node = ApiNode(tmp_path / "db", genesis(modules=("identity", "vote", "petition")))
    transport = httpx.ASGITransport(app=create_api(node))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://n") as c:
            ok = await c.get("/v1/query/vote/ballots", params={"limit": "2"})
            assert (ok.status_code, ok.json()["result"]) == (200, [])
            signers = await c.get(
                "/v1/query/petition/signers",
                params={"petition": "pt1", "after": "3", "limit": "10"},
            )
            assert (signers.status_code, signers.json()["result"]) == (200, [])
            for params in ({"limit": "two"}, {"limit": "0"}, {"limit": "1001"}):
                bad = await c.get("/v1/query/vote/ballots", params=params)
                assert (bad.status_code, error_of(bad)) == (400, "query.invalid")
    finally:
        node.close()


async def test_next_nonce_counts_pending(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    url = f"/v1/nonce/{ADMIN.public.hex()}"
    assert (await client.get(url)).json()["next_nonce"] == 1
    for n in (1, 2):
        await post_tx(client, enrol(node.genesis, n))
    got = (await client.get(url)).json()
    assert (got["next_nonce"], got["pending"], got["committed_nonce"]) == (3, 2, 0)
    node.commit()
    got = (await client.get(url)).json()
    assert (got["next_nonce"], got["pending"], got["committed_nonce"]) == (3, 0, 2)
    stranger = (await client.get("/v1/nonce/" + "11" * 32)).json()
    assert stranger["next_nonce"] == 1
    bad = await client.get("/v1/nonce/1234")
    assert (bad.status_code, error_of(bad)) == (400, "api.bad_hex")


# --- the node's own facts ----------------------------------------------------


async def test_status_validators_peers_evidence_genesis(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    block = node.commit([])
    node.peer_list.append({"node_key": b"\x01" * 32, "address": "10.0.0.2:26656"})
    node.evidence_list.append({"kind": "duplicate_vote", "validator": b"\x02" * 32})
    status = (await client.get("/v1/status")).json()
    assert status["height"] == 1 and status["syncing"] is False
    assert status["last_block_hash"] == block.hash().hex()
    validators = (await client.get("/v1/validators")).json()
    assert validators["hash"] == node.genesis.validators.hash.hex()
    assert validators["total_power"] == 40 and len(validators["validators"]) == 4
    assert validators["validators"][0]["key"] == (
        node.genesis.validators.validators[0].key.hex()
    )
    peers = (await client.get("/v1/peers")).json()
    assert peers == {"peers": [{"node_key": "01" * 32, "address": "10.0.0.2:26656"}]}
    evidence = (await client.get("/v1/evidence")).json()
    assert evidence["evidence"][0]["validator"] == "02" * 32
    gen = (await client.get("/v1/genesis")).json()
    assert gen["hash"] == node.genesis.hash.hex()
    assert Genesis.from_json(gen["genesis"]).hash == node.genesis.hash


async def test_metrics_are_prometheus_text(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    node.commit([enrol(node.genesis, 1), enrol(node.genesis, 2)])
    await post_tx(client, enrol(node.genesis, 3))
    node.metrics.set_round(2)
    node.metrics.set_peers(3)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in (
        "egov_height 1.0",
        "egov_round 2.0",
        "egov_txs_committed_total 2.0",
        "egov_mempool_txs 1.0",
        "egov_peers 3.0",
        "egov_commit_latency_seconds_count 1.0",
        'egov_block_txs_bucket{le="1.0"} 0.0',
        'egov_block_txs_bucket{le="10.0"} 1.0',
    ):
        assert line in text.splitlines(), line
    assert f"egov_mempool_bytes {float(node.mempool.size_bytes)}" in text


async def test_unknown_paths_and_methods(client: httpx.AsyncClient) -> None:
    for path in ("/", "/v1", "/v2/status", "/v1/tx/ab/cd"):
        response = await client.get(path)
        assert (response.status_code, error_of(response)) == (404, "api.not_found")
    wrong = await client.get("/v1/tx")
    assert (wrong.status_code, error_of(wrong)) == (405, "api.method_not_allowed")
    wrong = await client.post("/v1/status", json={})
    assert wrong.status_code == 405


async def test_a_failing_node_gives_a_json_500(node: ApiNode) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("status is broken")

    node.status = broken  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=create_api(node), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://n") as client:
        response = await client.get("/v1/status")
    assert (response.status_code, error_of(response)) == (500, "api.internal")
    assert "broken" not in response.text
