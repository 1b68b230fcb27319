"""Signed transactions for benchmarks, on the development chain.

A realistic mix of every module, valid in order on a fresh development chain
(``node.devnet.dev_genesis``):

- ``setup_txs`` (one block, which must be block 1 or any block whose time is
  at most ``start_time``): the auctioneer opens english auctions, the election
  official schedules re-vote ballots, the identity authority enrols the
  citizens and a few registry clerks and grants the clerks the vehicle
  registrar role;
- ``open_txs`` (a later block): citizens submit petitions to the president,
  whose office publishes them;
- ``load_txs`` is the measured mix, one fifth each: petition signatures,
  ballot casts (each a change of vote), english auction bids, vehicle
  registrations by the clerks, identity key rotations.

Nonces and rotated keys are tracked here, so every list is valid in the order
given, and each later list continues the earlier ones. Person ids follow from
the genesis: its authorities are ``p1..pN`` in genesis order, and everyone
enrolled here is numbered after them in the order enrolled.
"""

from __future__ import annotations

import math
from typing import Any

from chain.genesis import Genesis
from chain.keys import PrivateKey, dev_key
from chain.tx import SignedTx, TxBody
from node.devnet import authority_key

# A citizen's turn: one of each, the key rotation last, so that the citizen's
# next transaction (a whole round of citizens later) signs with a key that
# a node's committed state already knows.
KINDS = ("petition", "vote", "auction", "registry", "identity")
AUCTIONS = 50
BALLOTS = 10
CLERKS = 20
START_PRICE = 1_000_000
MIN_STEP = 100
DAY_MS = 24 * 3600 * 1000


class Workload:
    def __init__(
        self,
        genesis: Genesis,
        citizens: int = 2000,
        *,
        planned: int = 100_000,
        start_time: int | None = None,
        tag: str = "bench",
    ) -> None:
        """``planned``: about how many load transactions will be asked for (it
        sizes the petitions so that no citizen signs one twice);
        ``start_time``: the block time of the setup block at the latest
        (auctions and ballots open then)."""
        self.genesis = genesis
        self.start_time = genesis.genesis_time if start_time is None else start_time
        self.tag = tag
        self.citizens = [dev_key(f"{tag}/citizen/{i}") for i in range(citizens)]
        self.clerks = [dev_key(f"{tag}/clerk/{i}") for i in range(CLERKS)]
        first = len(genesis.authorities) + 1
        self.clerk_ids = [f"p{first + i}" for i in range(CLERKS)]
        self.citizen_ids = [f"p{first + CLERKS + i}" for i in range(citizens)]
        per_citizen = planned / len(KINDS) / citizens
        self.petitions = max(2, math.ceil(per_citizen) + 1)
        self.nonces: dict[bytes, int] = {}
        self.issued = 0
        self.rotations = 0
        self.records = 0
        self.auction_bids = [0] * AUCTIONS
        self.visits: list[int] = [0] * citizens  # ballot casts per citizen
        self.signed: list[int] = [0] * citizens  # petitions signed per citizen

    # --- signing --------------------------------------------------------------

    def sign(
        self, key: PrivateKey, module: str, action: str, /, **args: Any
    ) -> SignedTx:
        nonce = self.nonces.get(key.public, 0) + 1
        self.nonces[key.public] = nonce
        body = TxBody(self.genesis.chain_id, module, action, args, key.public, nonce)
        return SignedTx.create(body, key)

    def senders(self) -> int:
        return len(self.nonces)

    # --- the setup ------------------------------------------------------------

    def setup_txs(self) -> list[SignedTx]:
        """One block's worth: auctions, ballots, enrolments, clerk roles."""
        t = self.start_time
        auctioneer = authority_key("authority/auctions")
        official = authority_key("authority/elections")
        identity = authority_key("authority/identity")
        out = [
            self.sign(
                auctioneer,
                "auction",
                "create",
                item=f"Lot {i}: decommissioned service vehicle",
                kind="english",
                start_price=START_PRICE,
                min_step=MIN_STEP,
                opens_at=t + 1,
                closes_at=t + 300 * DAY_MS,
            )
            for i in range(AUCTIONS)
        ]
        out += [
            self.sign(
                official,
                "vote",
                "create_ballot",
                question=f"Local question {i}: approve the district budget?",
                options=["yes", "no"],
                opens_at=t,
                closes_at=t + 300 * DAY_MS,
                revote=True,
            )
            for i in range(BALLOTS)
        ]
        for i, key in enumerate(self.clerks):
            out.append(
                self.sign(
                    identity,
                    "identity",
                    "enrol",
                    key=key.public,
                    name=f"Clerk {i}",
                    kind="official",
                    attributes={"office": f"service-centre-{i}"},
                )
            )
        for i, key in enumerate(self.citizens):
            out.append(
                self.sign(
                    identity,
                    "identity",
                    "enrol",
                    key=key.public,
                    name=f"Citizen {i}",
                    attributes={"region": "kyiv" if i % 2 else "lviv"},
                )
            )
        out += [
            self.sign(
                identity,
                "identity",
                "grant_role",
                person=pid,
                role="registrar:vehicles",
            )
            for pid in self.clerk_ids
        ]
        return out

    def open_txs(self) -> list[SignedTx]:
        """A later block: petitions submitted by citizens, then published."""
        return self.petition_txs() + self.publish_txs()

    def petition_txs(self) -> list[SignedTx]:
        return [
            self.sign(
                self.citizens[i % len(self.citizens)],
                "petition",
                "submit",
                addressee="president",
                title=f"Petition {i}: repair the regional roads",
                text="We ask the Office of the President to fund road repairs. " * 4,
            )
            for i in range(self.petitions)
        ]

    def publish_txs(self) -> list[SignedTx]:
        """The president's office publishes them (after they are committed)."""
        president = authority_key("authority/president")
        return [
            self.sign(president, "petition", "publish", petition=f"pt{i + 1}")
            for i in range(self.petitions)
        ]

    # --- the measured mix -----------------------------------------------------

    def load_txs(self, count: int) -> list[SignedTx]:
        return [self.next_tx() for _ in range(count)]

    def next_tx(self) -> SignedTx:
        i = self.issued
        self.issued += 1
        kind = KINDS[i % len(KINDS)]
        slot = (i // len(KINDS)) % len(self.citizens)
        if kind == "identity":
            return self._rotate(slot)
        if kind == "registry":
            return self._register(slot)
        if kind == "auction":
            return self._bid(slot)
        if kind == "vote":
            return self._cast(slot)
        return self._sign_petition(slot)

    def _rotate(self, slot: int) -> SignedTx:
        self.rotations += 1
        fresh = dev_key(f"{self.tag}/rotated/{self.rotations}")
        tx = self.sign(
            self.citizens[slot], "identity", "rotate_key", new_key=fresh.public
        )
        self.citizens[slot] = fresh
        return tx

    def _register(self, slot: int) -> SignedTx:
        self.records += 1
        n = self.records
        return self.sign(
            self.clerks[n % len(self.clerks)],
            "registry",
            "register",
            register="vehicles",
            id=f"VIN{n:014d}",
            owners={self.citizen_ids[slot]: 1},
            denominator=1,
            attributes={"make": "Bogdan", "model": "A092", "year": str(2000 + n % 25)},
        )

    def _bid(self, slot: int) -> SignedTx:
        # Bid j goes to auction j mod AUCTIONS: consecutive bids on one
        # auction come from different citizens, each a step above the last.
        j = (self.issued - 1) // len(KINDS)
        auction = j % AUCTIONS
        self.auction_bids[auction] += 1
        amount = START_PRICE + (self.auction_bids[auction] - 1) * MIN_STEP
        return self.sign(
            self.citizens[slot], "auction", "bid", auction=auction + 1, amount=amount
        )

    def _cast(self, slot: int) -> SignedTx:
        visit = self.visits[slot]
        self.visits[slot] += 1
        ballot = visit % BALLOTS
        option = (visit // BALLOTS) % 2  # a re-vote always changes the option
        return self.sign(
            self.citizens[slot], "vote", "cast", ballot=f"b{ballot + 1}", option=option
        )

    def _sign_petition(self, slot: int) -> SignedTx:
        n = self.signed[slot] % self.petitions
        self.signed[slot] += 1
        return self.sign(self.citizens[slot], "petition", "sign", petition=f"pt{n + 1}")
