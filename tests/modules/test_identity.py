"""identity: enrolment, roles, key rotation, revocation and validity of senders."""

from __future__ import annotations

import pytest

from chain.keys import dev_key
from modules.errors import TxInvalid
from tests.modules.harness import World

ADMIN = dev_key("admin")


@pytest.fixture
def world() -> World:
    return World.create()


def test_genesis_authority_is_person_p1_with_role(world: World) -> None:
    person = world.query("identity", "person", id="p1")
    assert person["roles"] == ["identity_authority"]
    assert person["keys"] == [ADMIN.public.hex()]
    assert world.query("identity", "role", role="identity_authority") == ["p1"]


def test_enrol_creates_person_with_attributes(world: World) -> None:
    key, pid = world.enrol("Olena", region="kyiv")
    assert pid == "p2"
    person = world.query("identity", "person", id=pid)
    assert person["attributes"] == {"region": "kyiv"}
    assert person["kind"] == "citizen"
    assert world.query("identity", "key", key=key.public.hex())["person"] == pid


def test_enrol_refused_for_non_authority_and_rolled_back(world: World) -> None:
    citizen, _ = world.enrol("Olena")
    newcomer = dev_key("newcomer")
    result = world.fails(
        "identity.forbidden",
        citizen,
        "identity",
        "enrol",
        key=newcomer.public,
        name="X",
    )
    assert result.events == ()
    assert world.query("identity", "key", key=newcomer.public.hex()) is None


def test_key_can_never_be_enrolled_twice(world: World) -> None:
    key, _ = world.enrol("Olena")
    world.fails(
        "identity.key_in_use",
        ADMIN,
        "identity",
        "enrol",
        key=key.public,
        name="Olena again",
    )


def test_unknown_sender_is_invalid_not_failed(world: World) -> None:
    stranger = dev_key("stranger")
    tx = world.sign(stranger, "identity", "rotate_key", new_key=dev_key("x").public)
    with pytest.raises(TxInvalid) as info:
        world.block(tx)
    assert info.value.code == "tx.unknown_sender"


def test_nonce_must_be_next(world: World) -> None:
    key, _ = world.enrol("Olena")
    world.nonces[key.public] = 5  # skip ahead: nonce 6 where 1 is expected
    tx = world.sign(key, "identity", "rotate_key", new_key=dev_key("n").public)
    with pytest.raises(TxInvalid) as info:
        world.block(tx)
    assert info.value.code == "tx.bad_nonce"


def test_failed_tx_consumes_nonce(world: World) -> None:
    citizen, _ = world.enrol("Olena")
    world.fails(
        "identity.forbidden",
        citizen,
        "identity",
        "grant_role",
        person="p2",
        role="auctioneer",
    )
    # nonce 1 was consumed, so a replay of nonce 1 is invalid
    world.nonces[citizen.public] = 0
    tx = world.sign(citizen, "identity", "grant_role", person="p2", role="auctioneer")
    with pytest.raises(TxInvalid) as info:
        world.block(tx)
    assert info.value.code == "tx.bad_nonce"


def test_rotation_keeps_person_and_retires_old_key(world: World) -> None:
    old, pid = world.enrol("Olena")
    new = dev_key("olena-new")
    world.ok(old, "identity", "rotate_key", new_key=new.public)
    assert world.query("identity", "person", id=pid)["keys"] == [new.public.hex()]
    with pytest.raises(TxInvalid) as info:
        world.block(
            world.sign(old, "identity", "rotate_key", new_key=dev_key("z").public)
        )
    assert info.value.code == "tx.retired_key"
    # the old key can never be enrolled for someone else
    world.fails(
        "identity.key_in_use",
        ADMIN,
        "identity",
        "enrol",
        key=old.public,
        name="Mallory",
    )


def test_roles_grant_and_revoke(world: World) -> None:
    _, pid = world.enrol("Petro")
    world.ok(ADMIN, "identity", "grant_role", person=pid, role="registrar:land")
    world.fails(
        "identity.has_role",
        ADMIN,
        "identity",
        "grant_role",
        person=pid,
        role="registrar:land",
    )
    world.fails(
        "identity.bad_role", ADMIN, "identity", "grant_role", person=pid, role="king"
    )
    world.ok(ADMIN, "identity", "revoke_role", person=pid, role="registrar:land")
    assert world.query("identity", "role", role="registrar:land") == []
    world.fails(
        "identity.no_such_role",
        ADMIN,
        "identity",
        "revoke_role",
        person=pid,
        role="registrar:land",
    )


def test_last_authority_cannot_be_removed(world: World) -> None:
    world.fails(
        "identity.last_authority",
        ADMIN,
        "identity",
        "revoke_role",
        person="p1",
        role="identity_authority",
    )


def test_revoked_person_cannot_sign(world: World) -> None:
    key, pid = world.enrol("Olena")
    world.ok(ADMIN, "identity", "revoke", person=pid, reason="deceased")
    with pytest.raises(TxInvalid) as info:
        world.block(
            world.sign(key, "identity", "rotate_key", new_key=dev_key("q").public)
        )
    assert info.value.code in ("tx.retired_key", "tx.revoked_sender")


def test_replace_key_recovers_access(world: World) -> None:
    lost, pid = world.enrol("Olena")
    fresh = dev_key("olena-fresh")
    world.ok(ADMIN, "identity", "replace_key", person=pid, new_key=fresh.public)
    world.ok(fresh, "identity", "rotate_key", new_key=dev_key("olena-3").public)


def test_bad_args_fail_with_args_invalid(world: World) -> None:
    world.fails("args.invalid", ADMIN, "identity", "enrol", key=b"short", name="X")
    world.fails(
        "args.invalid",
        ADMIN,
        "identity",
        "enrol",
        key=dev_key("k").public,
        name="X",
        extra=1,
    )
    world.fails("tx.unknown_action", ADMIN, "identity", "fly")
    world.fails("tx.unknown_module", ADMIN, "nothing", "fly")


def test_param_int_reads_http_text_and_ints() -> None:
    from modules.base import param_int

    assert param_int({"id": "12"}, "id") == 12
    assert param_int({"id": 12}, "id") == 12
    for bad in ("p1", "-3", "", "١٢", True, None, "9" * 40):
        assert param_int({"id": bad}, "id") is None
    assert param_int({}, "id") is None
