"""Fixtures for the web app's tests: a small fast config, an app under TestClient, a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from app.main import create_app
from app.settings import Settings
from app.training.executor import Executor
from app.training.pool import LocalPool
from harness.servers import LiveServer, free_port, start_live_server

__all__ = ["LiveServer", "free_port", "start_live_server"]  # the tests import them from here

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
    "steps_per_second": None,  # as fast as it goes (the server's default run is paced)
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


@pytest.fixture(scope="session")
def local_pool() -> Iterator[LocalPool]:
    """One pool of two worker processes, shared by the apps of every test that does not kill one."""
    pool = LocalPool(2)
    yield pool
    pool.shutdown()


@pytest.fixture(scope="session")
def ray_pool() -> Iterator[Executor]:
    """One local Ray (loopback only, two CPUs) for the session, with two worker actors."""
    from app.training.ray_pool import RayPool, _ray

    pool = RayPool(2)
    yield pool
    pool.shutdown()
    _ray().shutdown()


@pytest.fixture(params=["local", "ray"])
def executor(request: pytest.FixtureRequest) -> Executor:
    """Each executor in turn: the behavioural tests of runs run on both."""
    pool: Executor = request.getfixturevalue(f"{request.param}_pool")
    return pool


@pytest.fixture
def client(settings: Settings, local_pool: LocalPool) -> Iterator[TestClient]:
    """The app with its lifespan running (its run on the shared pool, idle)."""
    with TestClient(create_app(settings, executor=local_pool)) as test_client:
        yield test_client


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
    """The element with this data-testid (the stable hooks of docs/ARCHITECTURE.md)."""
    return page.get_by_test_id(testid)
