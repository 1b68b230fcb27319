"""The scene of the registry tests: a land registrar, a vehicle registrar
and four citizens, and the encumbrance step several scripts take."""

from __future__ import annotations

from typing import Any

from chain.keys import PrivateKey
from tests.modules.harness import World

REGISTERS = {
    "land": {"title": "State land cadastre", "transfer_approval": True},
    "vehicles": {"title": "Vehicle register", "transfer_approval": False},
}
LAND = "8000000000:75:123:0045"


class Scene:
    """A world with a land registrar, a vehicle registrar and four citizens."""

    def __init__(self) -> None:
        self.w = World.create(
            modules=["identity", "registry"],
            module_config={"registry": {"registers": REGISTERS}},
        )
        self.reg, self.reg_id = self.w.official("Registrar", "registrar:land")
        self.vreg, _ = self.w.official("Vehicles", "registrar:vehicles")
        self.keys: dict[str, PrivateKey] = {}
        self.ids: dict[str, str] = {}
        for name in ("olena", "petro", "iryna", "taras"):
            key, pid = self.w.enrol(name)
            self.keys[name], self.ids[name] = key, pid

    def k(self, name: str) -> PrivateKey:
        return self.keys[name]

    def p(self, name: str) -> str:
        return self.ids[name]

    def register_land(self, rid: str = LAND, **owners: int) -> None:
        owners = owners or {"olena": 1, "petro": 1}
        self.w.ok(
            self.reg,
            "registry",
            "register",
            register="land",
            id=rid,
            owners={self.p(n): s for n, s in owners.items()},
            denominator=sum(owners.values()),
            attributes={"area_m2": "1200", "purpose": "housing"},
        )

    def record(self, rid: str = LAND, register: str = "land") -> Any:
        return self.w.query("registry", "record", register=register, id=rid)

    def offer(self, by: str, to: dict[str, int], rid: str = LAND, **kw: Any) -> int:
        result = self.w.ok(
            self.k(by),
            "registry",
            "offer",
            register=kw.pop("register", "land"),
            record=rid,
            to={self.p(n): s for n, s in to.items()},
            denominator=sum(to.values()),
            **kw,
        )
        return int(
            next(e for e in result.events if e.type == "registry.offered").attrs[
                "offer"
            ]
        )

    def types(self, result: Any) -> list[str]:
        return [e.type for e in result.events]


def encumber(s: Scene, kind: str, ref: str = "ref-1") -> Any:
    return s.w.ok(
        s.reg,
        "registry",
        "encumber",
        register="land",
        record=LAND,
        kind=kind,
        holder="Oschadbank",
        reference=ref,
    )
