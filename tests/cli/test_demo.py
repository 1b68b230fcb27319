"""The demo's client side: nonces, refusals, key files and the summary.

The scenario itself runs against real nodes in tests/e2e (through
``egov localnet``) and by hand with ``egov demo``; here a mock transport
plays the node.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from chain.keys import dev_key, load_key
from chain.tx import SignedTx
from cli.demo.chain import Actor, Chain, DemoError, Stats
from cli.demo.load import summarize
from cli.main import main
from node.devnet import authority_key

URL = "http://node.test"


class Node:
    """Answers status, nonce and tx submission; refuses nonces it dislikes."""

    def __init__(self, next_nonce: int = 1) -> None:
        self.next_nonce = next_nonce
        self.nonce_lookups = 0
        self.submitted: list[int] = []
        self.refuse: dict[int, tuple[int, str]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/status":
            return httpx.Response(200, json={"chain_id": "egov-dev", "height": 3})
        if path.startswith("/v1/nonce/"):
            self.nonce_lookups += 1
            return httpx.Response(200, json={"next_nonce": self.next_nonce})
        if path == "/v1/tx":
            raw = bytes.fromhex(json.loads(request.content)["tx"])
            nonce = SignedTx.decode(raw).body.nonce
            if nonce in self.refuse:
                status, code = self.refuse.pop(nonce)
                error = {"code": code, "message": f"nonce {nonce} refused"}
                return httpx.Response(status, json={"error": error})
            self.submitted.append(nonce)
            self.next_nonce = nonce + 1
            return httpx.Response(202, json={"id": f"{nonce:064x}"})
        return httpx.Response(404, json={"error": {"code": "api.not_found"}})


def chain_for(node: Node) -> Chain:
    return Chain([URL], transport=httpx.MockTransport(node), sleep=lambda s: None)


def olena() -> Actor:
    return Actor("Olena", dev_key("demo/citizen/0"))


def test_nonces_are_counted_locally_after_one_lookup() -> None:
    node = Node(next_nonce=5)
    chain = chain_for(node)
    for _ in range(3):
        chain.submit(olena(), "petition", "sign", {"petition": "pt1"})
    assert node.submitted == [5, 6, 7]
    assert node.nonce_lookups == 1


def test_a_stale_nonce_is_looked_up_again_once() -> None:
    node = Node(next_nonce=1)
    chain = chain_for(node)
    chain.submit(olena(), "petition", "sign", {"petition": "pt1"})
    node.next_nonce = 4  # someone else signed with the same key meanwhile
    node.refuse[2] = (400, "tx.bad_nonce")
    chain.submit(olena(), "petition", "sign", {"petition": "pt2"})
    assert node.submitted == [1, 4]


def test_a_rule_refusal_is_a_demo_error_and_keeps_the_nonce() -> None:
    node = Node(next_nonce=1)
    chain = chain_for(node)
    node.refuse[1] = (400, "petition.already_signed")
    with pytest.raises(DemoError) as caught:
        chain.submit(olena(), "petition", "sign", {"petition": "pt1"})
    assert caught.value.code == "petition.already_signed"
    chain.submit(olena(), "petition", "sign", {"petition": "pt2"})
    assert node.submitted == [1]


def test_an_unreachable_node_is_a_demo_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(DemoError) as caught:
        Chain([URL], transport=httpx.MockTransport(down), sleep=lambda s: None)
    assert caught.value.code == "node.unreachable"


def test_write_keys_writes_the_agencies_keys_and_can_run_again(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(main, ["demo", "--write-keys", str(tmp_path / "k")])
        assert result.exit_code == 0, result.output
    key = load_key(tmp_path / "k" / "identity.key")
    assert key.public == authority_key("authority/identity").public
    assert (tmp_path / "k" / "kyiv.key").stat().st_mode & 0o077 == 0
    assert "Kyiv City Council" in result.output


def test_summary_names_what_the_demo_did() -> None:
    stats = Stats(
        phase="steady load",
        citizens=20,
        records=2,
        auctions=1,
        auction_note="won by p16",
        ballots=2,
        ballot_note="b1 closed: yes 3/no 1",
        petitions=4,
        answered=3,
        load_ok=30,
        load_started=100.0,
    )
    text = summarize(stats, now=110.0)
    assert "citizens 20, registry records 2, auctions 1 (won by p16)" in text
    assert "ballots 2 (b1 closed: yes 3/no 1), petitions 4 (3 answered)" in text
    assert "steady load: 30 tx committed, 0 failed (3.0 tx/s)" in text
