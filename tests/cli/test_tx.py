"""egov tx against a fake node backed by a real Application."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from chain.keys import dev_key
from cli.context import Settings
from tests.cli.conftest import ADMIN, Run, key_file
from tests.cli.fakenode import FakeNode


def test_submit_without_wait_prints_the_id(
    tmp_path: Path, run: Run, node: FakeNode
) -> None:
    admin = key_file(tmp_path, ADMIN, "admin")
    new = dev_key("tx/olena").public.hex()
    result = run(
        "tx", "identity", "enrol", "--arg", f"key=hex:{new}", "--arg", "name=Olena",
        "--key", admin, node=node,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(node.pending) == 1
    tx = node.pending[0]
    assert result.stdout.startswith(f"submitted {tx.id.hex()}")
    assert tx.body.args == {"key": bytes.fromhex(new), "name": "Olena"}
    assert tx.body.nonce == node.app.next_nonce(ADMIN.public)
    assert tx.body.chain == node.app.chain_id


def test_wait_prints_result_and_events(
    tmp_path: Path, run: Run, node: FakeNode
) -> None:
    admin = key_file(tmp_path, ADMIN, "admin")
    new = dev_key("tx/taras").public.hex()
    result = run(
        "tx", "identity", "enrol", "--arg-json",
        json.dumps({"key": f"hex:{new}", "attributes": {"region": "lviv"}}),
        "--arg", "name=Taras", "--key", admin, "--wait", node=node,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "committed" in result.stdout and "result: ok" in result.stdout
    assert "event: identity.enrolled" in result.stdout
    assert node.app.height == 3
    record = node.app.query("identity", "key", {"key": new})
    assert record["status"] == "active"


def test_wait_json_gives_the_node_answer(
    tmp_path: Path, run: Run, node: FakeNode
) -> None:
    admin = key_file(tmp_path, ADMIN, "admin")
    new = dev_key("tx/json").public.hex()
    result = run(
        "tx", "identity", "enrol", "--arg", f"key=hex:{new}", "--arg", "name=J",
        "--key", admin, "--wait", "--json", node=node,
    )  # fmt: skip
    doc = json.loads(result.stdout)
    assert doc["status"] == "committed" and doc["result"]["code"] == "ok"


def test_a_refused_transaction_exits_1_with_the_node_code(
    tmp_path: Path, run: Run, node: FakeNode
) -> None:
    stranger = key_file(tmp_path, dev_key("tx/stranger"), "stranger")
    result = run(
        "tx", "identity", "rotate_key", "--arg", "new_key=hex:" + "11" * 32,
        "--key", stranger, node=node,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "tx.unknown_sender" in result.stderr and "refused" in result.stderr
    admin = key_file(tmp_path, ADMIN, "admin")
    result = run(
        "tx", "identity", "enrol", "--arg", "key=hex:" + "11" * 32, "--arg", "name=X",
        "--key", admin, "--nonce", 99, node=node,
    )  # fmt: skip
    assert result.exit_code == 1 and "tx.bad_nonce" in result.stderr


def test_a_failed_transaction_is_included_and_exits_1(
    tmp_path: Path, run: Run, node: FakeNode
) -> None:
    node.check_rules = False  # let the module refuse it inside the block
    admin = key_file(tmp_path, ADMIN, "admin")
    taken = dev_key("cli/c1").public.hex()  # enrolled by the fixture
    result = run(
        "tx", "identity", "enrol", "--arg", f"key=hex:{taken}", "--arg", "name=Dup",
        "--key", admin, "--wait", node=node,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "result: identity.key_in_use" in result.stdout
    assert "identity.key_in_use" in result.stderr
    assert node.app.height == 3


def test_wait_gives_up_after_the_timeout(tmp_path: Path, node: FakeNode) -> None:
    from click.testing import CliRunner

    from cli.main import main

    admin = key_file(tmp_path, ADMIN, "admin")
    node.commit_pending = lambda: None  # type: ignore[method-assign]
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += 1.0

    settings = Settings(
        transport=node.transport, poll_interval=1, sleep=sleep, clock=lambda: now[0]
    )
    result = CliRunner().invoke(
        main,
        ["tx", "identity", "enrol", "--arg", "key=hex:" + "22" * 32,
         "--arg", "name=Slow", "--key", str(admin), "--wait", "--timeout", "5"],
        obj=settings,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "tx.timeout" in result.stderr
    assert now[0] == 5.0


def test_bad_arguments_and_keys_are_usage_or_key_errors(
    tmp_path: Path, run: Run, node: FakeNode
) -> None:
    admin = key_file(tmp_path, ADMIN, "admin")
    result = run(
        "tx", "identity", "enrol", "--arg", "key=hex:zz", "--key", admin, node=node
    )
    assert result.exit_code == 2 and "not hex" in result.output
    result = run(
        "tx", "identity", "enrol", "--arg-json", "[1]", "--key", admin, node=node
    )
    assert result.exit_code == 2
    result = run("tx", "identity", "enrol", "--key", tmp_path / "none", node=node)
    assert result.exit_code == 1 and "key.missing" in result.stderr
    result = run("tx", "Bad-Module", "x", "--key", admin, node=node)
    assert result.exit_code == 1 and "tx.bad_name" in result.stderr


def test_an_unreachable_node_exits_3(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli.main import main

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    admin = key_file(tmp_path, ADMIN, "admin")
    result = CliRunner().invoke(
        main,
        ["tx", "identity", "enrol", "--key", str(admin)],
        obj=Settings(transport=httpx.MockTransport(refuse)),
    )
    assert result.exit_code == 3 and "node.unreachable" in result.stderr
