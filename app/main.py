"""The FastAPI application: `create_app()` builds it, `app` is the one uvicorn serves.

    uvicorn app.main:app --workers 1      (or: python -m app)

The lifespan warns when the server listens beyond loopback with no control
token (app/http/control.py), binds the event hub to the server's loop, starts the
executor whose worker processes train the runs (app/training/executor.py), opens the
training service (it brings back every saved run, or starts the default one on the
bundled names when BPTT_LAB_AUTOSTART is on) and, on shutdown, ends the event
streams, saves every run and stops the executor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from app.http import errors as http_errors
from app.http.control import document_control, exposure_warning
from app.http.limits import BodyLimitMiddleware
from app.routes import api, compare, events, fragments, inspect, learn, pages, run_fragments, runs
from app.settings import DEFAULT_TRAIN, Settings, get_settings
from app.training.events import EventHub
from app.training.executor import Executor, start_executor
from app.training.service import TrainingService
from app.web import errors as page_errors
from app.web import templating
from app.web.templating import STATIC_DIR
from rnn_core.config import TrainConfig

log = logging.getLogger("bptt_lab")


def limit_blas_threads(threads: int) -> None:
    """Pin NumPy's BLAS to `threads` (threadpoolctl when installed; app/__init__ sets the env)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(threads)


async def reap_idle_runs(service: TrainingService) -> None:
    """Every little while, pause the idle visitors' runs and delete the long-idle ones."""
    period = min(30.0, service.settings.idle_minutes * 60 / 4)
    while True:
        await asyncio.sleep(period)
        await run_in_threadpool(service.reap)


def create_app(
    settings: Settings | None = None, config: TrainConfig | None = None, executor: Executor | None = None
) -> FastAPI:
    """The app with its routes, error handlers and lifespan.

    The lifespan starts the executor that trains the runs (a pool of
    `settings.workers` processes) and stops it at the end, unless `executor` is
    given: then the app shares it (tests share one across many apps) and only
    takes its runs out of it at the end.
    """
    settings = settings or get_settings()
    config = config or TrainConfig.from_dict({**DEFAULT_TRAIN, **settings.train})
    hub = EventHub(queue_size=settings.sse_queue_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limit_blas_threads(settings.blas_threads)
        warning = exposure_warning(settings)
        if warning:
            log.warning(warning)
        missing = templating.missing_scripts()
        templating.note_missing_scripts(missing)
        if missing:
            log.warning("%s missing: the page cannot go live; %s", ", ".join(missing), templating.SETUP_HINT)
        hub.bind(asyncio.get_running_loop())
        pool = executor if executor is not None else await run_in_threadpool(start_executor, settings)
        service = TrainingService(settings, hub, config, pool)
        await run_in_threadpool(service.open)
        app.state.service = service
        pinger = asyncio.create_task(hub.keep_alive())
        reaper = asyncio.create_task(reap_idle_runs(service))
        log.info("BPTT Lab: runs in %s, state %s", settings.runs_dir, service.get().state)
        try:
            yield
        finally:
            pinger.cancel()
            reaper.cancel()
            hub.close()
            await run_in_threadpool(service.close)
            if executor is None:
                await run_in_threadpool(pool.shutdown)

    app = FastAPI(
        title="BPTT Lab",
        summary="Watch a NumPy RNN learn names; see backpropagation through time.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.settings = settings
    app.dependency_overrides[get_settings] = lambda: settings
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(GZipMiddleware, minimum_size=1000)  # never the event stream (Starlette skips it)
    http_errors.install(app)
    page_errors.install(app)
    for module in (pages, compare, fragments, run_fragments, api, runs, events, inspect, learn):
        app.include_router(module.router)
    app.include_router(api.run_router)
    document_control(app, settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


app = create_app()
