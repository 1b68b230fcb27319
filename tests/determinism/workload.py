"""A random but replayable workload over every module, for determinism checks.

A workload is a list of draws ``[actor, template, a, b]`` (small integers);
``build`` turns it into signed transactions block by block, so that the same
draws always give the same transactions. Many of them fail module rules;
failures must be just as deterministic as successes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chain.genesis import Genesis
from chain.keys import PrivateKey, dev_key
from chain.tx import SignedTx, TxBody
from node.devnet import authority_key

ADMIN = authority_key("authority/identity")
LAND = authority_key("authority/land")
FUND = authority_key("authority/auctions")
ELECTIONS = authority_key("authority/elections")
KYIV = authority_key("authority/kyiv")
CITIZENS = [dev_key(f"determinism/citizen/{i}") for i in range(6)]
ACTORS = [ADMIN, LAND, FUND, ELECTIONS, KYIV, *CITIZENS]
SECOND = 1000


def _person(n: int) -> str:
    # Genesis authorities are p1..p8; the citizens enrolled first are p9..p14.
    return f"p{9 + n % 6}"


def _template(t: int, a: int, b: int, now: int) -> tuple[str, str, dict[str, Any]]:
    templates = [
        (
            "identity",
            "set_attributes",
            {"person": _person(a), "attributes": {"region": ["kyiv", "lviv"][b % 2]}},
        ),
        (
            "petition",
            "submit",
            {
                "addressee": "kyiv_council",
                "title": f"Petition {a}",
                "text": "x" * (b + 1),
            },
        ),
        ("petition", "sign", {"petition": f"pt{1 + a % 4}"}),
        ("vote", "propose", {"title": f"Proposal {a}", "text": "y" * (b + 1)}),
        ("vote", "support", {"proposal": f"cp{1 + a % 4}"}),
        (
            "vote",
            "create_ballot",
            {
                "question": f"Q{a}",
                "options": ["yes", "no"],
                "opens_at": now + a * SECOND,
                "closes_at": now + (a + b + 2) * SECOND,
            },
        ),
        ("vote", "cast", {"ballot": f"b{1 + a % 4}", "option": b % 2}),
        (
            "registry",
            "register",
            {
                "register": "land",
                "id": f"8000000000:01:001:{a:04d}",
                "owners": {_person(a): 1, _person(b): 1},
                "denominator": 2,
                "attributes": {"area_m2": str(100 + b)},
            },
        ),
        (
            "registry",
            "encumber",
            {
                "register": "land",
                "record": f"8000000000:01:001:{a:04d}",
                "kind": "mortgage",
                "holder": "State Bank",
                "reference": f"M-{b}",
            },
        ),
        (
            "auction",
            "create",
            {
                "item": f"Lot {a}",
                "kind": "english",
                "start_price": 1000 + b,
                "min_step": 10,
                "opens_at": now + SECOND,
                "closes_at": now + (3 + a) * SECOND,
                "extension": SECOND,
            },
        ),
        ("auction", "bid", {"auction": 1 + a % 3, "amount": 1000 + 20 * b}),
        (
            "identity",
            "enrol",
            {"key": dev_key(f"determinism/late/{a}/{b}").public, "name": f"Late {a}"},
        ),
    ]
    return templates[t % len(templates)]


class Builder:
    def __init__(self, genesis: Genesis) -> None:
        self.genesis = genesis
        self.nonces: dict[bytes, int] = {}

    def sign(
        self, key: PrivateKey, module: str, action: str, args: dict[str, Any]
    ) -> SignedTx:
        nonce = self.nonces.get(key.public, 0) + 1
        self.nonces[key.public] = nonce
        body = TxBody(self.genesis.chain_id, module, action, args, key.public, nonce)
        return SignedTx.create(body, key)

    def setup(self) -> list[SignedTx]:
        return [
            self.sign(
                ADMIN,
                "identity",
                "enrol",
                {
                    "key": key.public,
                    "name": f"Citizen {i}",
                    "attributes": {"region": "kyiv"},
                },
            )
            for i, key in enumerate(CITIZENS)
        ]

    def block(self, draws: list[list[int]], now: int) -> list[SignedTx]:
        out = []
        for actor, t, a, b in draws:
            module, action, args = _template(t, a, b, now)
            out.append(self.sign(ACTORS[actor % len(ACTORS)], module, action, args))
        return out


def blocks(draws: list[list[int]], per_block: int = 4) -> Iterator[list[list[int]]]:
    for start in range(0, len(draws), per_block):
        yield draws[start : start + per_block]
