"""Load, the short form of bench/bench_load.py: 30 SSE clients and 10 generate requests a second for 5 s.

Against a live server in this process, so the fan-out can be looked at while
the load runs (harness/load.py drives it): no request fails, no stream is lost, every queue stays within
its bound, the replay ring and the loss history too, and when the clients
leave, their queues go with them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from harness.load import drive

from .conftest import TINY, LiveServer, make_settings, start_live_server

CLIENTS, RATE, SECONDS = 30, 10.0, 5.0


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    runs = tmp_path_factory.mktemp("runs")
    live = start_live_server(make_settings(runs, autostart=True, train={**TINY, "history_limit": 50}))
    yield live
    live.stop()


@pytest.mark.slow
def test_a_class_of_watchers_and_generators_breaks_nothing(server: LiveServer) -> None:
    hub, run = server.app.state.hub, server.app.state.service.get()
    seen: list[dict[str, int]] = []

    def look() -> None:
        seen.append({**hub.stats(), "history": len(run.history())})

    report = asyncio.run(drive(server.url, CLIENTS, RATE, SECONDS, every_second=look))

    assert not report.failures, report.failures[:5]
    assert report.requests == round(RATE * SECONDS)
    assert (report.streams, report.streams_lost) == (CLIENTS, 0)
    assert report.events >= CLIENTS * 2 and report.steps[1] > report.steps[0]  # it trained meanwhile
    assert len(seen) >= 3
    for stats in seen:
        assert stats["subscribers"] >= CLIENTS
        assert stats["longest_queue"] <= stats["queue_size"]
        assert stats["replay_held"] <= stats["replay_size"]
        assert stats["history"] <= 50
    deadline = time.monotonic() + 30
    while hub.stats()["subscribers"]:  # gone clients free their queues
        assert time.monotonic() < deadline, hub.stats()
        time.sleep(0.05)
