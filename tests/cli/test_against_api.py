"""The command against the node's real HTTP API (node.api), in process.

The same commands as the fake-node tests, answered by ``create_api`` over a
real application and mempool, so the client and the API cannot drift apart.
Blocks are committed while ``--wait`` sleeps between polls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio
from click.testing import CliRunner, Result

from chain.keys import dev_key
from cli.context import Settings
from cli.main import main
from node.api import create_api
from tests.cli.conftest import GENESIS_DOC, key_file
from tests.node.test_api import ADMIN, ApiNode, enrol


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiNode]:
    node = ApiNode(tmp_path / "db")  # on the genesis GENESIS_DOC
    node.commit([enrol(node.genesis, 1), enrol(node.genesis, 2)])
    yield node
    node.close()


def invoke(node: ApiNode, *args: object) -> Result:
    app = create_api(node)

    async def call(request: httpx.Request) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as c:
            answer = await c.request(
                request.method,
                request.url.raw_path.decode(),
                content=request.content,
                headers={"content-type": "application/json"},
            )
        return httpx.Response(answer.status_code, content=answer.content)

    def forward(request: httpx.Request) -> httpx.Response:
        return trio.run(call, request)

    settings = Settings(
        transport=httpx.MockTransport(forward),
        poll_interval=0,
        sleep=lambda _: node.commit(),
    )
    return CliRunner().invoke(main, [str(a) for a in args], obj=settings)


def test_tx_wait_query_audit_and_export_through_the_api(
    api: ApiNode, tmp_path: Path
) -> None:
    admin = key_file(tmp_path, ADMIN, "admin")
    new = dev_key("api/olena").public.hex()
    result = invoke(
        api, "tx", "identity", "enrol", "--arg", f"key=hex:{new}",
        "--arg", "name=Olena", "--key", admin, "--wait",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "result: ok" in result.stdout and "identity.enrolled" in result.stdout
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(GENESIS_DOC))
    result = invoke(api, "query", "identity", f"key/{new}", "--genesis", genesis)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "active"
    result = invoke(api, "audit", "--node", "http://node", "--genesis", genesis)
    assert result.exit_code == 0, result.output
    assert "blocks:       2" in result.stdout
    out = tmp_path / "chain.egov"
    assert invoke(api, "export", "--node", "http://node", "--out", out).exit_code == 0
    assert invoke(api, "audit", "--file", out, "--genesis", genesis).exit_code == 0


def test_status_block_query_module_and_refusals_through_the_api(
    api: ApiNode, tmp_path: Path
) -> None:
    assert json.loads(invoke(api, "status", "--json").stdout)["height"] == 1
    result = invoke(api, "block", "latest")
    assert result.exit_code == 0 and "txs:        2" in result.stdout
    result = invoke(api, "query-module", "identity", "role", "role=identity_authority")
    assert json.loads(result.stdout) == ["p1"]
    result = invoke(api, "query", "identity", "person/p1")  # genesis from the API
    assert result.exit_code == 0, result.output
    assert "warning" in result.stderr
    stranger = key_file(tmp_path, dev_key("api/stranger"), "stranger")
    result = invoke(
        api, "tx", "identity", "rotate_key", "--arg", "new_key=hex:" + "33" * 32,
        "--key", stranger,
    )  # fmt: skip
    assert result.exit_code == 1 and "tx.unknown_sender" in result.stderr
