"""The event feed: the ring of recent blocks, the long poll, the SSE stream,
and the API served by hypercorn on a real loopback socket."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio

from chain.tx import Event, TxResult
from node.api import ApiLimits, create_api, serve_api
from node.events import EventFeed, FeedEvent, block_events
from tests.node.test_api import (  # noqa: F401 (fixtures)
    ApiNode,
    client_fixture,
    enrol,
    error_of,
    node_fixture,
)


def events_at(height: int, *types: str) -> list[FeedEvent]:
    return [FeedEvent(height, None, t, {"n": i}) for i, t in enumerate(types)]


# --- EventFeed ---------------------------------------------------------------


def test_feed_appends_in_order_and_slices_after_a_cursor() -> None:
    feed = EventFeed(keep_blocks=10)
    feed.append(1, events_at(1, "a.x", "a.y"))
    feed.append(2, [])
    feed.append(3, events_at(3, "b.z"))
    with pytest.raises(ValueError):
        feed.append(5, [])
    part = feed.after(0)
    assert [(e.height, e.type) for e in part.events] == [
        (1, "a.x"),
        (1, "a.y"),
        (3, "b.z"),
    ]
    assert (part.height, part.missed) == (3, False)
    part = feed.after(1, max_blocks=1)  # block 2 has no events, but counts
    assert (part.events, part.height) == ([], 2)
    assert feed.after(3).height == 3 and feed.after(3).events == []
    assert feed.after(99).height == 3  # a cursor ahead counts as the feed's height


def test_feed_keeps_recent_blocks_and_says_what_was_missed() -> None:
    feed = EventFeed(keep_blocks=3, height=10)
    assert feed.after(4).missed and feed.after(4).height == 10
    for h in range(11, 16):
        feed.append(h, events_at(h, "m.e"))
    assert feed.oldest == 13
    part = feed.after(10)
    assert part.missed and [e.height for e in part.events] == [13, 14, 15]
    assert not feed.after(12).missed
    assert [e.height for e in feed.after(12).events] == [13, 14, 15]


def test_block_events_pair_transactions_and_end_of_block(tmp_path: Path) -> None:
    node = ApiNode(tmp_path / "db")
    txs = [enrol(node.genesis, 1), enrol(node.genesis, 2)]
    block = node.commit(txs)
    results = [*node.app.get_results(1)[:2], TxResult("ok", "", (Event("x.e", {}),))]
    events = block_events(block, results)
    node.close()
    assert [e.tx for e in events] == [txs[0].id, txs[1].id, None]
    assert [e.type for e in events] == ["identity.enrolled"] * 2 + ["x.e"]


async def test_wait_after_wakes_on_append_or_times_out(autojump_clock: object) -> None:
    feed = EventFeed()
    woke: list[tuple[bool, float]] = []

    async def waiter(height: int, timeout: float) -> None:
        woke.append((await feed.wait_after(height, timeout), trio.current_time()))

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter, 0, 10)
        nursery.start_soon(waiter, 1, 3)
        await trio.sleep(1)
        feed.append(1, [])
    assert [(ok, round(t - start, 3)) for ok, t in woke] == [(True, 1), (False, 3)]
    assert await feed.wait_after(0, 5)  # already past: no wait


# --- GET /v1/events (long poll) ----------------------------------------------


async def test_poll_returns_kept_events_at_once(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    txs = [enrol(node.genesis, 1), enrol(node.genesis, 2)]
    node.commit(txs)
    node.commit([])
    got = (await client.get("/v1/events", params={"after": 0})).json()
    assert got["height"] == 2 and got["missed"] is False
    assert [e["tx"] for e in got["events"]] == [tx.id.hex() for tx in txs]
    assert got["events"][0] == {
        "height": 1,
        "tx": txs[0].id.hex(),
        "type": "identity.enrolled",
        "attrs": got["events"][0]["attrs"],
    }
    assert got["events"][0]["attrs"]["kind"] == "citizen"
    nothing = (await client.get("/v1/events")).json()  # no cursor: from now on
    assert nothing == {"events": [], "height": 2, "missed": False}


async def test_poll_waits_for_the_next_block(
    node: ApiNode, client: httpx.AsyncClient, autojump_clock: object
) -> None:
    start = trio.current_time()

    async def commit_later() -> None:
        await trio.sleep(1.5)
        node.commit([enrol(node.genesis, 1)])

    async with trio.open_nursery() as nursery:
        nursery.start_soon(commit_later)
        got = (await client.get("/v1/events", params={"timeout": 20})).json()
    assert trio.current_time() - start == pytest.approx(1.5)
    assert got["height"] == 1 and len(got["events"]) == 1

    start = trio.current_time()
    idle = (await client.get("/v1/events", params={"after": 1, "timeout": 2.5})).json()
    assert trio.current_time() - start == pytest.approx(2.5)
    assert idle == {"events": [], "height": 1, "missed": False}


async def test_poll_after_pruned_blocks_reports_missed(
    node: ApiNode, client: httpx.AsyncClient
) -> None:
    for _ in range(10):  # the test node keeps 8 blocks
        node.commit([])
    got = (await client.get("/v1/events", params={"after": 0})).json()
    assert got["missed"] is True and got["height"] == 10


@pytest.mark.parametrize(
    "params",
    [
        {"after": -1},
        {"after": "x"},
        {"timeout": 31},
        {"timeout": "nan"},
        {"timeout": "inf"},
        {"timeout": -1},
        {"timeout": "1e999"},
    ],
)
async def test_poll_bad_parameters(client: httpx.AsyncClient, params: dict) -> None:
    response = await client.get("/v1/events", params=params)
    assert (response.status_code, error_of(response)) == (400, "api.bad_param")


async def test_stream_bad_resume_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/events/stream", headers={"Last-Event-ID": "nope"})
    assert (response.status_code, error_of(response)) == (400, "api.bad_param")


# --- served by hypercorn -----------------------------------------------------


async def read_sse(lines: object) -> dict:
    """The next ``events`` message of a stream, skipping comments."""
    message: dict[str, str] = {}
    async for line in lines:  # type: ignore[attr-defined]
        if line == "":
            if message.get("event") == "events":
                return {"id": message["id"], **json.loads(message["data"])}
            message = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            message[field] = value
    raise AssertionError("stream ended")


async def test_served_api_long_poll_stream_and_limits(node: ApiNode) -> None:
    api = create_api(node, ApiLimits(keepalive=0.05))
    shutdown = trio.Event()
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            serve = partial(
                serve_api, api, "127.0.0.1", 0, shutdown_trigger=shutdown.wait
            )
            port = await nursery.start(serve)
            assert port > 0
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                await _exercise(node, client, nursery)
            shutdown.set()


async def _exercise(
    node: ApiNode, client: httpx.AsyncClient, nursery: trio.Nursery
) -> None:
    gen = node.genesis
    status = await client.get("/v1/status")
    assert status.status_code == 200 and status.json()["height"] == 0

    accepted = await client.post("/v1/tx", json={"tx": enrol(gen, 1).raw.hex()})
    assert accepted.status_code == 202

    async def commit_soon() -> None:
        await trio.sleep(0.1)
        node.commit()

    nursery.start_soon(commit_soon)
    polled = await client.get("/v1/events", params={"after": 0, "timeout": 10})
    assert polled.json()["height"] == 1
    assert polled.json()["events"][0]["tx"] == accepted.json()["id"]

    async with client.stream("GET", "/v1/events/stream") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        nursery.start_soon(commit_soon)
        node.submit(enrol(gen, 2).raw)
        message = await read_sse(lines)
    assert (message["id"], message["height"]) == ("2", 2)
    assert message["events"][0]["type"] == "identity.enrolled"

    # A client that lost the stream resumes after the last id it saw.
    headers = {"Last-Event-ID": "1"}
    async with client.stream("GET", "/v1/events/stream", headers=headers) as again:
        resumed = await read_sse(again.aiter_lines())
    assert resumed == message

    big = b'{"tx": "' + b"00" * 200_000 + b'"}'
    refused = await client.post("/v1/tx", content=big)
    assert (refused.status_code, error_of(refused)) == (413, "api.too_large")
    assert (await client.get("/v1/blocks/2")).json()["height"] == 2
