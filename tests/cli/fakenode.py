"""A fake node for CLI tests: the API contract served by a real Application.

Requests go through ``httpx.MockTransport`` to ``FakeNode.handle``; blocks
are made with tests/node/chainkit's Driver when a pending transaction is
polled, so ``egov tx --wait`` sees it pending once, then committed.
``tamper`` lets a test change any answer before it is sent, as a lying
node would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx

from chain.smt_proof import proof_to_json
from chain.tx import SignedTx
from cli.context import plain
from node.application import Application
from node.errors import TxRefused
from tests.node.chainkit import Driver

Tamper = Callable[[str, dict[str, Any]], None]


def error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


class FakeNode:
    def __init__(
        self, app: Application, genesis_doc: dict[str, Any], *, check_rules: bool = True
    ) -> None:
        self.app = app
        self.driver = Driver(app)
        self.genesis_doc = genesis_doc
        self.check_rules = check_rules
        self.pending: list[SignedTx] = []
        self.tamper: Tamper | None = None
        self.requests: list[str] = []

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def commit_pending(self) -> None:
        self.driver.step(self.pending)
        self.pending = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        self.requests.append(f"{request.method} {path}")
        parts = path.strip("/").split("/")
        if parts[:1] != ["v1"] or len(parts) < 2:
            return error(404, "api.not_found", path)
        route = getattr(self, f"_{request.method.lower()}_{parts[1]}", None)
        if route is None:
            return error(404, "api.not_found", path)
        answer = route(request, parts[2:])
        if isinstance(answer, httpx.Response):
            return answer
        status, doc = answer
        if self.tamper is not None:
            self.tamper(path, doc)
        return httpx.Response(status, json=doc)

    # --- routes ------------------------------------------------------------

    def _post_tx(self, request: httpx.Request, rest: list[str]) -> Any:
        raw = bytes.fromhex(json.loads(request.content)["tx"])
        try:
            tx = self.app.decode_tx(raw)
            queued = sum(1 for p in self.pending if p.body.sender == tx.body.sender)
            nonce = self.app.next_nonce(tx.body.sender) + queued
            self.app.check_tx(tx, nonce, rules=self.check_rules)
        except TxRefused as exc:
            return error(400, exc.code, exc.message)
        self.pending.append(tx)
        return 202, {"id": tx.id.hex()}

    def _get_tx(self, request: httpx.Request, rest: list[str]) -> Any:
        tx_id = bytes.fromhex(rest[0])
        if any(p.id == tx_id for p in self.pending):
            self.commit_pending()  # the next poll finds it committed
            return 200, {"id": rest[0], "status": "pending"}
        where = self.app.store.get_tx_location(tx_id)
        if where is None:
            return error(404, "tx.not_found", rest[0])
        block = self.app.get_block(where.height)
        assert block is not None
        result = self.app.get_results(where.height)[where.index]
        return 200, {
            "id": rest[0],
            "status": "committed",
            "height": where.height,
            "index": where.index,
            "result": plain(result.to_value()),
            "body": plain(block.txs[where.index].body.to_value()),
            "proof": {},
        }

    def _get_nonce(self, request: httpx.Request, rest: list[str]) -> Any:
        sender = bytes.fromhex(rest[0])
        queued = sum(1 for p in self.pending if p.body.sender == sender)
        return 200, {"next_nonce": self.app.next_nonce(sender) + queued}

    def _get_status(self, request: httpx.Request, rest: list[str]) -> Any:
        last = self.app.store.last_block_hash
        return 200, {
            "chain_id": self.app.chain_id,
            "height": self.app.height,
            "last_block_hash": last.hex() if last else None,
            "mempool": len(self.pending),
            "syncing": False,
        }

    def _get_genesis(self, request: httpx.Request, rest: list[str]) -> Any:
        return 200, json.loads(json.dumps(self.genesis_doc))

    def _get_blocks(self, request: httpx.Request, rest: list[str]) -> Any:
        store = self.app.store
        if not rest:
            start = int(request.url.params["from"])
            limit = min(int(request.url.params.get("limit", 100)), 100)
            last = min(store.height, start + limit - 1)
            blocks = [
                {
                    "height": h,
                    "block_raw": store.get_block(h).hex(),  # type: ignore[union-attr]
                    "commit_raw": store.get_commit(h).hex(),  # type: ignore[union-attr]
                }
                for h in range(start, last + 1)
            ]
            return 200, {"blocks": blocks}
        height = store.height if rest[0] == "latest" else int(rest[0])
        block = self.app.get_block(height)
        commit = self.app.get_commit(height)
        if block is None or commit is None:
            return error(404, "block.not_found", f"no block {rest[0]}")
        results = self.app.get_results(height)
        return 200, {
            "height": height,
            "hash": block.hash().hex(),
            "header": plain(block.header.to_value()),
            "header_raw": block.header.encode().hex(),
            "txs": [
                {"id": tx.id.hex(), "module": tx.body.module, "action": tx.body.action}
                for tx in block.txs
            ],
            "block_raw": block.encode().hex(),
            "commit": plain(commit.to_value()),
            "commit_raw": commit.encode().hex(),
            "results": [plain(r.to_value()) for r in results],
        }

    def _get_state(self, request: httpx.Request, rest: list[str]) -> Any:
        module, path = rest[0], "/".join(rest[1:])
        key = f"{module}/{path}".encode()
        value, proof, height = self.app.prove(key)
        block = self.app.get_block(height)
        commit = self.app.store.get_commit(height)
        assert block is not None and commit is not None
        return 200, {
            "key": key.hex(),
            "value_raw": None if value is None else value.hex(),
            "value": None,
            "height": height,
            "state_root": block.header.state_root.hex(),
            "proof": proof_to_json(proof),
            "header_raw": block.header.encode().hex(),
            "commit_raw": commit.hex(),
        }

    def _get_query(self, request: httpx.Request, rest: list[str]) -> Any:
        params = dict(request.url.params)
        try:
            result = self.app.query(rest[0], rest[1], params)
        except Exception as exc:  # the module's own refusal
            return error(400, getattr(exc, "code", "query.error"), str(exc))
        return 200, {"result": plain(result)}
