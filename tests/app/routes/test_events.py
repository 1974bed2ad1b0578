"""Events: the hub's queues (app/training/events.py) and the streams against a live uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from app.training.events import PING, EventHub

from ..conftest import TINY, LiveServer


# ----------------------------------------------------------------- the hub alone
def test_a_full_queue_drops_its_oldest_event_and_keeps_the_latest() -> None:
    async def scenario() -> list[int]:
        hub = EventHub(queue_size=3)
        hub.bind(asyncio.get_running_loop())
        with hub.subscribe() as slow:
            for i in range(10):
                hub.publish("progress", {"step": i})
            assert hub.stats()["subscribers"] == 1
            return [event.data["step"] for event in slow.drain()]

    assert asyncio.run(scenario()) == [7, 8, 9]


def test_publish_from_another_thread_goes_through_the_loop() -> None:
    async def scenario() -> tuple[list[int], int]:
        hub = EventHub()
        hub.bind(asyncio.get_running_loop())
        with hub.subscribe() as sub:
            thread = threading.Thread(target=lambda: [hub.publish("progress", {"step": i}) for i in range(5)])
            thread.start()
            got = [await asyncio.wait_for(sub.get(), 2.0) for _ in range(5)]
            thread.join()
        ids = [e.id for e in got if e is not None]
        return [e.data["step"] for e in got if e is not None], len(set(ids))

    steps, distinct_ids = asyncio.run(scenario())
    assert steps == [0, 1, 2, 3, 4] and distinct_ids == 5


def test_leaving_frees_the_queue_and_close_ends_every_stream() -> None:
    async def scenario() -> tuple[int, int, bool]:
        hub = EventHub()
        hub.bind(asyncio.get_running_loop())
        with hub.subscribe():
            pass
        after_leaving = hub.stats()["subscribers"]
        sub = hub.subscribe()
        hub.close()
        event = await asyncio.wait_for(sub.get(), 1.0)
        return after_leaving, hub.stats()["subscribers"], event is None and sub.closed

    assert asyncio.run(scenario()) == (0, 0, True)


def test_a_late_subscriber_replays_what_it_missed() -> None:
    async def scenario() -> list[int]:
        hub = EventHub()
        hub.bind(asyncio.get_running_loop())
        for i in range(5):
            hub.publish("progress", {"step": i})
        with hub.subscribe(last_id=3) as sub:
            return [e.data["step"] for e in sub.drain()]

    assert asyncio.run(scenario()) == [3, 4]


def test_events_are_encoded_once_and_pings_go_only_to_who_asked() -> None:
    async def scenario() -> tuple[bytes, list[str], list[str]]:
        hub = EventHub()
        hub.bind(asyncio.get_running_loop())
        with hub.subscribe(pings=True) as api, hub.subscribe() as page:
            hub.publish("progress", {"step": 3, "train_loss": float("nan")})
            hub.ping()
            first = api.drain()
            return first[0].wire, [e.kind for e in first], [e.kind for e in page.drain()]

    wire, api_kinds, page_kinds = asyncio.run(scenario())
    assert wire == b'event: progress\ndata: {"step":3,"train_loss":null}\nid: 1\n\n'
    assert api_kinds == ["progress", "ping"] and page_kinds == ["progress"]
    assert PING.wire.startswith(b":")


# -------------------------------------------------------------- a live server
@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client of the live server."""
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        client.post("/api/train/resume")  # whatever an earlier test left, train
        yield client


def read_events(
    stream: Iterator[ServerSentEvent], seconds: float, kinds: set[str], enough: int = 10**9
) -> list[ServerSentEvent]:
    """The events of the given kinds arriving on `stream` within `seconds` (or the first few)."""
    out, deadline = [], time.monotonic() + seconds
    for sse in stream:
        if sse.event in kinds:
            out.append(sse)
        if time.monotonic() > deadline or len(out) >= enough:
            break
    return out


def steps_of(events: list[ServerSentEvent]) -> list[int]:
    return [json.loads(e.data)["step"] for e in events]


def test_progress_events_arrive_while_training(http: httpx.Client) -> None:
    with connect_sse(http, "GET", "/api/events") as source:
        stream = source.iter_sse()
        first = next(stream)
        assert first.event == "state" and first.id
        assert json.loads(first.data)["state"] in ("running", "idle", "paused")
        progress = read_events(stream, 1.5, {"progress"})
    assert len(progress) >= 5
    assert len(progress) <= 1.5 * 10 + 3  # at most about 10 a second
    steps = steps_of(progress)
    assert steps == sorted(steps) and steps[-1] > steps[0]
    ids = [int(e.id) for e in progress]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    payload = json.loads(progress[-1].data)
    assert {"step", "epoch", "train_loss", "val_loss", "chars_per_sec"} <= set(payload)


def test_samples_arrive_as_the_model_learns(http: httpx.Client) -> None:
    with connect_sse(http, "GET", "/api/events") as source:
        stream = source.iter_sse()
        samples = read_events(stream, 3.0, {"sample"}, enough=1)
    assert samples, "no sample event within 3 s"
    assert all(isinstance(n, str) for n in json.loads(samples[0].data)["names"])


def test_a_client_that_leaves_is_dropped(http: httpx.Client, live_server: LiveServer) -> None:
    hub = live_server.app.state.hub
    before = hub.stats()["subscribers"]
    with connect_sse(http, "GET", "/api/events") as source:
        stream = source.iter_sse()
        next(stream)
        assert hub.stats()["subscribers"] == before + 1
    deadline = time.monotonic() + 5
    while hub.stats()["subscribers"] != before:
        assert time.monotonic() < deadline, "the queue of a closed stream was not freed"
        time.sleep(0.05)


def test_pause_stops_the_steps_and_resume_restarts_them(http: httpx.Client) -> None:
    with connect_sse(http, "GET", "/api/events") as source:
        stream = source.iter_sse()
        paused_at = http.post("/api/train/pause").json()["step"]
        told = read_events(stream, 3.0, {"state"}, enough=2)  # the greeting, then the change
        assert json.loads(told[-1].data)["state"] == "paused"
        time.sleep(0.4)
        assert http.get("/api/status").json()["step"] == paused_at

        assert http.post("/api/train/resume").json()["state"] == "running"
        moving = read_events(stream, 1.0, {"progress", "state"})
    states = [json.loads(e.data)["state"] for e in moving if e.event == "state"]
    assert "running" in states
    assert max(steps_of([e for e in moving if e.event == "progress"])) > paused_at


def test_a_reconnecting_client_resumes_after_its_last_event(http: httpx.Client) -> None:
    with connect_sse(http, "GET", "/api/events") as source:
        stream = source.iter_sse()
        seen = read_events(stream, 0.5, {"progress"})
    last = int(seen[-1].id)
    headers = {"Last-Event-ID": str(last)}
    with connect_sse(http, "GET", "/api/events", headers=headers) as source:
        stream = source.iter_sse()
        replayed = read_events(stream, 0.5, {"progress"})
    assert replayed and all(int(e.id) > last for e in replayed)
    assert int(replayed[0].id) <= last + 30  # it starts right after, not at the newest


def test_the_page_stream_sends_html_partials(http: httpx.Client) -> None:
    with connect_sse(http, "GET", "/fragments/stream?scale=log") as source:
        stream = source.iter_sse()
        first = next(stream)
        assert first.event in ("", "message") and first.id
        for target in ("#controls", "#stats", "#chart", "#samples"):
            assert f'hx-target="{target}"' in first.data
        assert 'data-scale="log"' in first.data
        later = read_events(stream, 1.2, {"", "message", "weights-changed"})
    assert any('data-testid="train-step"' in m.data for m in later)
    assert any(m.event == "weights-changed" for m in later)


def test_one_stream_follows_the_runs_it_names_and_no_others(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        made = client.post("/api/runs", json={**TINY, "label": "streamed"}).json()
        url = f"{live_server.url}/api/events?runs={made['id']}"
        seen: set[str] = set()
        with httpx.Client(timeout=30) as stream_client, connect_sse(stream_client, "GET", url) as source:
            for event in source.iter_sse():
                if event.event in ("state", "progress"):
                    seen.add(json.loads(event.data)["run_id"])
                if event.event == "progress":
                    break
        assert seen == {made["id"]}  # the default run trains too, yet none of its events came
        unknown = client.get("/api/events", params={"runs": "nobody"})
        assert unknown.status_code == 404 and "nobody" in unknown.json()["detail"]
        client.delete(f"/api/runs/{made['id']}", headers={"Authorization": f"Bearer {made['token']}"})
