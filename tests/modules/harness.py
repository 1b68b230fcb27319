"""A small chain in memory for module tests: genesis, keys, signed txs, blocks.

``World`` executes signed transactions through the real ModuleHost on a
DictKV, one "block" at a time, with BFT time under the test's control.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chain.genesis import Genesis
from chain.hashing import sha256
from chain.keys import PrivateKey, dev_key
from chain.tx import SignedTx, TxBody, TxResult
from modules.errors import TxInvalid
from modules.host import ModuleHost
from modules.state import DictKV, TxBuffer

CHAIN = "egov-test"
GENESIS_TIME = "2026-01-01T00:00:00Z"
DAY = 86_400_000


def genesis_doc(
    modules: list[str] | None = None,
    module_config: dict[str, Any] | None = None,
    authorities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    validator = dev_key("test-validator")
    node = dev_key("test-node")
    admin = dev_key("admin")
    return {
        "chain_id": CHAIN,
        "genesis_time": GENESIS_TIME,
        "validators": [
            {
                "name": "v1",
                "power": 1,
                "key": validator.public.hex(),
                "node_key": node.public.hex(),
            }
        ],
        "modules": modules or ["identity"],
        "module_config": module_config or {},
        "authorities": authorities
        if authorities is not None
        else [
            {
                "name": "Ministry of Digital Affairs",
                "key": admin.public.hex(),
                "roles": ["identity_authority"],
            },
        ],
    }


@dataclass
class World:
    host: ModuleHost
    kv: DictKV = field(default_factory=DictKV)
    height: int = 0
    time: int = 0
    nonces: dict[bytes, int] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)

    @classmethod
    def create(cls, **doc: Any) -> World:
        genesis = Genesis.from_json(genesis_doc(**doc))
        world = cls(ModuleHost.from_genesis(genesis))
        world.time = genesis.genesis_time
        world.host.init_genesis(world.kv)
        return world

    def sign(
        self, key: PrivateKey, module: str, action: str, /, **args: Any
    ) -> SignedTx:
        nonce = self.nonces.get(key.public, 0) + 1
        self.nonces[key.public] = nonce
        body = TxBody(CHAIN, module, action, args, key.public, nonce)
        return SignedTx.create(body, key)

    def block(self, *txs: SignedTx, advance: int = 1000) -> list[TxResult]:
        """Execute one block: the txs, then every end-of-block step."""
        self.height += 1
        self.time += advance
        results = []
        for tx in txs:
            tx.verify_signature(CHAIN)
            results.append(self.host.execute_tx(self.kv, tx, self.height, self.time))
        end = self.host.end_block(self.kv, self.height, self.time)
        self.events.extend(end.events)
        for r in results:
            self.events.extend(r.events)
        return results

    def do(self, key: PrivateKey, module: str, action: str, /, **args: Any) -> TxResult:
        """Sign and execute one transaction alone in a block."""
        return self.block(self.sign(key, module, action, **args))[0]

    def ok(self, key: PrivateKey, module: str, action: str, /, **args: Any) -> TxResult:
        result = self.do(key, module, action, **args)
        assert result.ok, f"{module}.{action} failed: {result.code} {result.message}"
        return result

    def fails(
        self, code: str, key: PrivateKey, module: str, action: str, /, **args: Any
    ) -> TxResult:
        result = self.do(key, module, action, **args)
        assert result.code == code, (
            f"expected {code}, got {result.code} {result.message}"
        )
        return result

    def advance_to(self, time: int) -> TxResult:
        """An empty block at ``time`` (deadlines fall due)."""
        self.height += 1
        self.time = time
        end = self.host.end_block(self.kv, self.height, self.time)
        self.events.extend(end.events)
        return end

    def query(self, module: str, name: str, /, **params: Any) -> Any:
        return self.host.query(self.kv, module, name, params)

    def enrol(
        self, name: str, *, by: PrivateKey | None = None, **attributes: str
    ) -> tuple[PrivateKey, str]:
        """A fresh citizen key enrolled by the genesis authority; (key, person)."""
        key = dev_key(f"citizen/{name}")
        result = self.ok(
            by or dev_key("admin"),
            "identity",
            "enrol",
            key=key.public,
            name=name,
            attributes=attributes,
        )
        return key, str(result.events[0].attrs["person"])

    def official(self, name: str, *roles: str) -> tuple[PrivateKey, str]:
        key, pid = self.enrol(name)
        for role in roles:
            self.ok(dev_key("admin"), "identity", "grant_role", person=pid, role=role)
        return key, pid

    def state_digest(self) -> bytes:
        """A digest of the whole state, for determinism checks."""
        items = sorted(self.kv.data.items())
        return sha256(b"".join(len(k).to_bytes(4, "big") + k + v for k, v in items))

    def dry_run(self, tx: SignedTx) -> TxResult:
        try:
            return self.host.check_rules(
                TxBuffer(self.kv), tx, self.height + 1, self.time
            )
        except TxInvalid as exc:
            return TxResult(exc.code, exc.message)


Log = list[tuple[str, tuple[SignedTx, ...], int]]


@dataclass
class RecordingWorld(World):
    """A World that logs every block, so that the run can be replayed."""

    log: Log = field(default_factory=list)

    def block(self, *txs: SignedTx, advance: int = 1000) -> list[TxResult]:
        self.log.append(("block", txs, advance))
        return super().block(*txs, advance=advance)

    def advance_to(self, time: int) -> TxResult:
        self.log.append(("advance", (), time))
        return super().advance_to(time)


def replay(log: Log, **doc: Any) -> World:
    """The same blocks on a fresh World made from the same genesis ``doc``."""
    fresh = World.create(**doc)
    for kind, txs, value in log:
        if kind == "block":
            fresh.block(*txs, advance=value)
        else:
            fresh.advance_to(value)
    return fresh
