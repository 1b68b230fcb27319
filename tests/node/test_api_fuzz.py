"""Hostile requests: fuzzed bodies and paths never make a 500, and request
bodies are refused at their limit without being read to the end."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from chain import encoding
from node.api import ApiLimits, create_api
from tests.node.test_api import ApiNode, enrol

POST_STATUSES = {200, 202, 400, 409, 413, 503}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
msgpack_blobs = st.builds(
    lambda body, sig: encoding.encode({"body": body, "sig": sig}),
    st.binary(max_size=80),
    st.binary(min_size=0, max_size=70),
) | st.binary(max_size=200)
hex_items = msgpack_blobs.map(bytes.hex) | st.text(max_size=12)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.builds(lambda tx: json.dumps({"tx": tx}).encode(), hex_items | json_values),
    st.builds(
        lambda txs: json.dumps({"txs": txs}).encode(),
        st.lists(hex_items | json_values, max_size=6) | json_values,
    ),
)


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    node = ApiNode(Path(tmp_path_factory.mktemp("fuzz")) / "db")
    node.commit([enrol(node.genesis, 1)])
    yield create_api(node)
    node.close()


async def _request(app: Starlette, method: str, path: str, body: bytes) -> Any:
    transport = httpx.ASGITransport(app=app)  # raises what the app raises
    async with httpx.AsyncClient(transport=transport, base_url="http://n") as c:
        return await c.request(method, path, content=body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(["/v1/tx", "/v1/txs"]), body=bodies)
def test_fuzzed_post_bodies_get_a_json_answer(
    fuzz_api: Starlette, path: str, body: bytes
) -> None:
    response = trio.run(_request, fuzz_api, "POST", path, body)
    assert response.status_code in POST_STATUSES
    answer = response.json()
    if response.status_code >= 400:
        assert set(answer) == {"error"}
        assert isinstance(answer["error"]["code"], str)
    elif path == "/v1/txs":
        assert all(isinstance(r["accepted"], bool) for r in answer["results"])


segments = st.text(
    st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=20
)


@settings(max_examples=150, deadline=None)
@given(
    prefix=st.sampled_from(
        [
            "/v1/tx/",
            "/v1/blocks/",
            "/v1/state/",
            "/v1/state/identity/",
            "/v1/query/identity/",
            "/v1/nonce/",
            "/v1/events?after=",
            "/v1/blocks?limit=",
            "/v1/query/identity/key?key=",
        ]
    ),
    tail=segments,
)
def test_fuzzed_paths_never_fail(fuzz_api: Starlette, prefix: str, tail: str) -> None:
    path = prefix + quote(tail, safe="")
    response = trio.run(_request, fuzz_api, "GET", path, b"")
    # 405: a dot segment ("/v1/tx/.") normalises onto a POST-only route.
    assert response.status_code in {200, 400, 404, 405}
    answer = response.json()
    if response.status_code >= 400:
        assert isinstance(answer["error"]["code"], str)


# --- body limits, seen from the ASGI side ------------------------------------


async def call_asgi(
    app: Starlette,
    path: str,
    headers: list[tuple[bytes, bytes]],
    chunks: Iterator[bytes],
) -> tuple[int, dict[str, Any], int]:
    """POST with a body from ``chunks``; (status, JSON, chunks the app read)."""
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        reads += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "server": ("node", 80),
        "client": ("127.0.0.1", 5000),
    }
    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], json.loads(body), reads


async def test_declared_oversized_body_is_refused_unread(tmp_path: Path) -> None:
    node = ApiNode(tmp_path / "db")
    app = create_api(node)
    endless = itertools.repeat(b"0" * 65536)
    for path in ("/v1/tx", "/v1/txs"):
        headers = [(b"content-length", str(10**9).encode())]
        status, answer, reads = await call_asgi(app, path, headers, endless)
        assert (status, answer["error"]["code"], reads) == (413, "api.too_large", 0)
    bad = [(b"content-length", b"lots")]
    status, answer, reads = await call_asgi(app, "/v1/tx", bad, endless)
    assert (status, answer["error"]["code"], reads) == (400, "api.bad_request", 0)
    node.close()


async def test_streamed_body_is_cut_at_the_limit(tmp_path: Path) -> None:
    node = ApiNode(tmp_path / "db")
    limits = ApiLimits(tx_body=10_000, batch_body=50_000)
    app = create_api(node, limits)
    for path, limit in (("/v1/tx", 10_000), ("/v1/txs", 50_000)):
        endless = itertools.repeat(b" " * 1000)  # no Content-Length: chunked
        status, answer, reads = await call_asgi(app, path, [], endless)
        assert (status, answer["error"]["code"]) == (413, "api.too_large")
        assert reads == limit // 1000 + 1  # one chunk past the limit, no more
    node.close()


async def test_body_at_the_limit_is_read(tmp_path: Path) -> None:
    node = ApiNode(tmp_path / "db")
    app = create_api(node, ApiLimits(tx_body=1000))
    body = b'{"tx": "' + b"c1" * 491 + b'"}'
    assert len(body) == 992
    chunks = iter([body[:500], body[500:]])
    status, answer, _ = await call_asgi(app, "/v1/tx", [], chunks)
    assert status == 400 and answer["error"]["code"].startswith("encoding.")
    node.close()
