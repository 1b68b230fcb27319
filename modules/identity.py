"""identity — who may act.

A person is an enrolled identity (citizen, official or agency) with
attributes (``region``) and roles. Keys belong to persons: a key is active,
or retired after a rotation; a retired key never comes back, and a key
belongs to one person for ever, so one person can never act twice through
two keys. Transactions are signed by keys and acted on by persons.

State (under ``identity/``):

- ``person/<id>``: {id, name, kind, attributes, roles, status, keys, since}
- ``key/<hex>``: {person, status}  (status: active | retired)
- ``role/<role>/<id>``: 1, an index of role holders
- ``seq/person``: the last person number (ids are ``p1``, ``p2`` ...)

Roles: ``identity_authority``, ``auctioneer``, ``election_official``,
``registrar:<register>``, ``petition_addressee:<addressee>``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from modules.base import Ctx, Module, action, interface, query
from modules.errors import ModuleError
from modules.schema import KEY, PERSON, MapOf, Str
from modules.state import State

if TYPE_CHECKING:
    from chain.genesis import Genesis

AUTHORITY = "identity_authority"
ROLE_RE = re.compile(
    r"^(identity_authority|auctioneer|election_official"
    r"|registrar:[a-z][a-z0-9_]{0,31}|petition_addressee:[a-z][a-z0-9_]{0,31})$"
)
KINDS = ("citizen", "official", "agency")
ATTRIBUTES = MapOf(Str(128), 16, required=False, doc="attribute name -> value")


def _check_role(role: str) -> None:
    if not ROLE_RE.match(role):
        raise ModuleError("identity.bad_role", f"{role!r} is not a role")


class IdentityModule(Module):
    name = "identity"

    # --- state helpers --------------------------------------------------------

    def _person(self, state: State, pid: str) -> dict[str, Any]:
        record = state.get(f"person/{pid}")
        if record is None:
            raise ModuleError("identity.unknown_person", f"no person {pid}")
        return dict(record)

    def _active_person(self, state: State, pid: str) -> dict[str, Any]:
        record = self._person(state, pid)
        if record["status"] != "active":
            raise ModuleError("identity.revoked", f"person {pid} is revoked")
        return record

    def _claim_key(self, state: State, key: bytes, pid: str) -> None:
        if state.has(f"key/{key.hex()}"):
            raise ModuleError("identity.key_in_use", f"key {key.hex()} is already used")
        state.put(f"key/{key.hex()}", {"person": pid, "status": "active"})

    def _retire_keys(self, state: State, record: dict[str, Any]) -> None:
        for hex_key in record["keys"]:
            state.put(f"key/{hex_key}", {"person": record["id"], "status": "retired"})
        record["keys"] = []

    def _create(
        self,
        ctx: Ctx,
        state: State,
        key: bytes,
        name: str,
        kind: str,
        attributes: dict[str, str],
        roles: list[str],
    ) -> str:
        pid = f"p{state.next_id('person')}"
        self._claim_key(state, key, pid)
        for role in roles:
            _check_role(role)
            state.put(f"role/{role}/{pid}", 1)
        state.put(
            f"person/{pid}",
            {
                "attributes": attributes,
                "id": pid,
                "keys": [key.hex()],
                "kind": kind,
                "name": name,
                "roles": sorted(set(roles)),
                "since": ctx.height,
                "status": "active",
            },
        )
        return pid

    def init_genesis(self, ctx: Ctx, state: State, genesis: Genesis) -> None:
        for authority in genesis.authorities:
            pid = self._create(
                ctx,
                state,
                authority.key,
                authority.name,
                "agency",
                dict(authority.attributes),
                list(authority.roles),
            )
            ctx.emit("enrolled", person=pid, key=authority.key, genesis=True)

    # --- actions --------------------------------------------------------------

    @action(
        "enrol",
        {
            "key": KEY,
            "name": Str(128),
            "kind": Str(16, choices=KINDS, required=False, default="citizen"),
            "attributes": ATTRIBUTES,
        },
        who="identity_authority",
    )
    def enrol(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Enrol a new person with their first key."""
        ctx.require_role(AUTHORITY)
        pid = self._create(
            ctx, state, args["key"], args["name"], args["kind"], args["attributes"], []
        )
        ctx.emit("enrolled", person=pid, key=args["key"], kind=args["kind"])

    @action("grant_role", {"person": PERSON, "role": Str(64)}, who="identity_authority")
    def grant_role(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Give a person a role."""
        ctx.require_role(AUTHORITY)
        role, pid = args["role"], args["person"]
        _check_role(role)
        record = self._active_person(state, pid)
        if role in record["roles"]:
            raise ModuleError("identity.has_role", f"{pid} already has {role}")
        record["roles"] = sorted([*record["roles"], role])
        state.put(f"person/{pid}", record)
        state.put(f"role/{role}/{pid}", 1)
        ctx.emit("role_granted", person=pid, role=role)

    @action(
        "revoke_role", {"person": PERSON, "role": Str(64)}, who="identity_authority"
    )
    def revoke_role(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Take a role away. The last identity authority cannot be removed."""
        ctx.require_role(AUTHORITY)
        role, pid = args["role"], args["person"]
        record = self._person(state, pid)
        if role not in record["roles"]:
            raise ModuleError("identity.no_such_role", f"{pid} does not have {role}")
        if role == AUTHORITY and self._count_role(state, AUTHORITY) <= 1:
            raise ModuleError(
                "identity.last_authority", "cannot remove the last authority"
            )
        record["roles"] = [r for r in record["roles"] if r != role]
        state.put(f"person/{pid}", record)
        state.delete(f"role/{role}/{pid}")
        ctx.emit("role_revoked", person=pid, role=role)

    @action(
        "set_attributes",
        {"person": PERSON, "attributes": ATTRIBUTES},
        who="identity_authority",
    )
    def set_attributes(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Replace a person's attributes (e.g. a new region after a move)."""
        ctx.require_role(AUTHORITY)
        record = self._active_person(state, args["person"])
        record["attributes"] = args["attributes"]
        state.put(f"person/{args['person']}", record)
        ctx.emit("attributes_set", person=args["person"])

    @action("rotate_key", {"new_key": KEY}, who="the person, with their current key")
    def rotate_key(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Replace the signing key; the old key is retired for ever."""
        pid = ctx.require_person()
        record = self._active_person(state, pid)
        self._retire_keys(state, record)
        self._claim_key(state, args["new_key"], pid)
        record["keys"] = [args["new_key"].hex()]
        state.put(f"person/{pid}", record)
        ctx.emit("key_rotated", person=pid, key=args["new_key"])

    @action("replace_key", {"person": PERSON, "new_key": KEY}, who="identity_authority")
    def replace_key(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Recovery of a lost key: retire the person's keys, give a new one."""
        ctx.require_role(AUTHORITY)
        pid = args["person"]
        record = self._active_person(state, pid)
        self._retire_keys(state, record)
        self._claim_key(state, args["new_key"], pid)
        record["keys"] = [args["new_key"].hex()]
        state.put(f"person/{pid}", record)
        ctx.emit("key_replaced", person=pid, key=args["new_key"])

    @action("revoke", {"person": PERSON, "reason": Str(256)}, who="identity_authority")
    def revoke(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Revoke a person: their keys stop working, their record stays."""
        ctx.require_role(AUTHORITY)
        pid = args["person"]
        record = self._active_person(state, pid)
        if AUTHORITY in record["roles"] and self._count_role(state, AUTHORITY) <= 1:
            raise ModuleError(
                "identity.last_authority", "cannot revoke the last authority"
            )
        for role in record["roles"]:
            state.delete(f"role/{role}/{pid}")
        self._retire_keys(state, record)
        record["status"] = "revoked"
        record["roles"] = []
        record["revoked_reason"] = args["reason"]
        state.put(f"person/{pid}", record)
        ctx.emit("revoked", person=pid, reason=args["reason"])

    def _count_role(self, state: State, role: str) -> int:
        return sum(1 for _ in state.scan(f"role/{role}/"))

    # --- interface for the host and other modules -----------------------------

    def key_status(self, ctx: Ctx, state: State, key: bytes) -> tuple[str, str | None]:
        """(active | retired | revoked | unknown, person) for a signing key."""
        entry = state.get(f"key/{key.hex()}")
        if entry is None:
            return "unknown", None
        person = state.get(f"person/{entry['person']}")
        if person is None or person["status"] != "active":
            return "revoked", entry["person"]
        return entry["status"], entry["person"]

    @interface
    def has_role(self, ctx: Ctx, state: State, person: str, role: str) -> bool:
        return state.has(f"role/{role}/{person}")

    @interface
    def person(self, ctx: Ctx, state: State, person: str) -> dict[str, Any] | None:
        record = state.get(f"person/{person}")
        return None if record is None else dict(record)

    @interface
    def is_active(self, ctx: Ctx, state: State, person: str) -> bool:
        record = state.get(f"person/{person}")
        return record is not None and record["status"] == "active"

    @interface
    def attribute(self, ctx: Ctx, state: State, person: str, name: str) -> str | None:
        record = state.get(f"person/{person}")
        if record is None:
            return None
        value = record["attributes"].get(name)
        return None if value is None else str(value)

    # --- queries --------------------------------------------------------------

    @query("person")
    def q_person(self, state: State, params: dict[str, Any]) -> Any:
        return state.get(f"person/{params.get('id', '')}")

    @query("key")
    def q_key(self, state: State, params: dict[str, Any]) -> Any:
        return state.get(f"key/{params.get('key', '')}")

    @query("role")
    def q_role(self, state: State, params: dict[str, Any]) -> Any:
        role = str(params.get("role", ""))
        return [path.rsplit("/", 1)[1] for path, _ in state.scan(f"role/{role}/")]
