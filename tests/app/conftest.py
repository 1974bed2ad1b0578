"""Fixtures for the web app's tests: a small fast config, an app under TestClient, a live server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from app.main import create_app
from app.settings import Settings

#: Debian's Chromium and the flags that keep it quiet and offline in a container.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Screenshots of the browser tests land here, beside the other test results.
RESULTS = Path(__file__).resolve().parents[2] / "test-results"

#: A run small enough to take hundreds of steps a second on one core.
TINY = {
    "hidden_size": 16,
    "batch_size": 16,
    "eval_every": 20,
    "sample_every": 40,
    "max_steps": 10_000_000,
    "history_limit": 300,
}


def make_settings(runs_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: its own runs folder, no autostart, the tiny config."""
    values: dict[str, object] = {
        "runs_dir": runs_dir,
        "autostart": False,
        "train": TINY,
        "checkpoint_seconds": 3600,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh runs folder, not training until told."""
    return make_settings(tmp_path / "runs")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app with its lifespan running (training thread started, run idle)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    """A uvicorn server on 127.0.0.1 in a thread of the test process."""

    url: str
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Ask uvicorn to stop and wait for it (streams are cut by the short graceful timeout)."""
        self.app.state.hub.close()
        self.server.should_exit = True
        self.thread.join(15)


def start_live_server(settings: Settings) -> LiveServer:
    """Serve a new app for `settings` and wait until it answers."""
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return LiveServer(f"http://127.0.0.1:{port}", app, server, thread)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server for the module, training the tiny config from the start."""
    runs = tmp_path_factory.mktemp("runs")
    live = start_live_server(make_settings(runs, autostart=True))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the module's browser tests."""
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """One laptop-sized tab on the module's live server; no uncaught script error may happen in it."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/")
    yield page
    page.close()
    assert errors == [], errors


def by(page: Page, testid: str) -> Locator:
    """The element with this data-testid (DESIGN's stable hooks)."""
    return page.get_by_test_id(testid)
