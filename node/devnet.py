"""The development chain: INSECURE keys from public seeds, for local use only.

Every key here is ``chain.keys.dev_key(name)``, i.e. derived from the
public string ``egov-insecure-dev-seed/<name>``. Anyone can recompute them,
so a chain built from this genesis protects nothing. ``genesis.json`` at the
repository root is ``dev_genesis(4)``; a test keeps the two equal.
"""

from __future__ import annotations

from typing import Any

from chain.block import Block
from chain.genesis import Genesis
from chain.keys import PrivateKey, dev_key
from chain.votes import Commit, Vote, VoteType

DEV_CHAIN_ID = "egov-dev"
DEV_GENESIS_TIME = "2026-01-01T00:00:00Z"

# (seed name, display name, roles)
DEV_AUTHORITIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "authority/identity",
        "Ministry of Digital Transformation",
        ("identity_authority",),
    ),
    ("authority/land", "State Land Cadastre Service", ("registrar:land",)),
    ("authority/vehicles", "Main Service Centre (vehicles)", ("registrar:vehicles",)),
    ("authority/auctions", "State Property Fund", ("auctioneer",)),
    ("authority/elections", "Central Election Commission", ("election_official",)),
    (
        "authority/president",
        "Office of the President",
        ("petition_addressee:president",),
    ),
    ("authority/parliament", "Verkhovna Rada", ("petition_addressee:parliament",)),
    ("authority/kyiv", "Kyiv City Council", ("petition_addressee:kyiv_council",)),
)

DEV_MODULE_CONFIG: dict[str, Any] = {
    "registry": {
        "registers": {
            "land": {"title": "State Land Cadastre", "transfer_approval": True},
            "vehicles": {"title": "Vehicle Register", "transfer_approval": False},
        }
    },
    "auction": {},
    "vote": {
        "proposals": {
            "support_threshold": 3,
            "support_days": 30,
            "ballot_days": 7,
            "quorum": 0,
            "revote": True,
        }
    },
    "petition": {
        "addressees": {
            "president": {
                "title": "Office of the President",
                "threshold": 25000,
                "window_days": 90,
                "response_days": 10,
                "moderated": True,
            },
            "parliament": {
                "title": "Verkhovna Rada",
                "threshold": 25000,
                "window_days": 90,
                "response_days": 10,
                "moderated": True,
            },
            "kyiv_council": {
                "title": "Kyiv City Council",
                "threshold": 3,
                "window_days": 90,
                "response_days": 10,
                "moderated": False,
            },
        }
    },
}


def validator_key(i: int) -> PrivateKey:
    return dev_key(f"validator/{i}")


def node_key(i: int) -> PrivateKey:
    return dev_key(f"node/{i}")


def authority_key(seed_name: str) -> PrivateKey:
    return dev_key(seed_name)


def dev_genesis(
    validators: int = 4,
    *,
    chain_id: str = DEV_CHAIN_ID,
    modules: tuple[str, ...] = ("identity", "registry", "auction", "vote", "petition"),
    module_config: dict[str, Any] | None = None,
    consensus: dict[str, int] | None = None,
) -> dict[str, Any]:
    config = DEV_MODULE_CONFIG if module_config is None else module_config
    return {
        "comment": (
            "INSECURE development chain: every key derives from a public seed "
            "(see node/devnet.py). Never use it outside a local test network."
        ),
        "chain_id": chain_id,
        "genesis_time": DEV_GENESIS_TIME,
        "validators": [
            {
                "name": f"validator-{i}",
                "power": 10,
                "key": validator_key(i).public.hex(),
                "node_key": node_key(i).public.hex(),
            }
            for i in range(1, validators + 1)
        ],
        "consensus": consensus or {},
        "modules": list(modules),
        "module_config": {k: v for k, v in config.items() if k in modules},
        "authorities": [
            {
                "name": name,
                "key": authority_key(seed).public.hex(),
                "roles": list(roles),
            }
            for seed, name, roles in DEV_AUTHORITIES
        ],
    }


def sign_dev_commit(
    block: Block,
    genesis: Genesis,
    signers: int | None = None,
    round_: int = 0,
    at: int | None = None,
) -> Commit:
    """Precommits for ``block`` by the first ``signers`` dev validators.

    For tests, benchmarks and tooling that drive the application without
    consensus; only meaningful on a chain whose validators are dev keys. The
    votes are stamped ``at`` (default: just after the block), which sets the
    next block's BFT time.
    """
    count = len(genesis.validators) if signers is None else signers
    stamp = block.header.time if at is None else at
    votes = []
    for i in range(1, count + 1):
        key = validator_key(i)
        vote = Vote(
            VoteType.PRECOMMIT,
            block.height,
            round_,
            block.hash(),
            stamp + i,
            key.public,
        )
        votes.append(vote.signed(key, genesis.chain_id))
    return Commit.from_votes(votes)
