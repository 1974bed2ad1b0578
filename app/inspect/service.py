"""The Inspect service: check a name, trace it under a snapshot of the current weights.

A request names a character string; this module refuses it in plain words
(empty, too long, a control character, a character the vocabulary lacks) or
turns it into a `Job`: the checked name, a snapshot of the weights and what the
page wants drawn. `answer(job)` builds the `InspectReport` (rnn_core.inspect_report)
and renders it, as HTML for the panel or as JSON for /api/inspect.

Where the work runs: in one worker process. The training thread holds the GIL
for most of its Python-level work, and a trace done beside it in the server's
own process runs four to five times slower than alone; in its own process it
only shares the CPU. If the worker cannot start or breaks, the job runs in the
calling thread instead (the routes are plain functions that FastAPI runs in its
thread pool, so the event loop never waits either way). The worker ends with
the server however the server ends (see `watch_server`).

Reports are cached (in whichever process answers) by (name, weights key), so the
page's step-backwards walk and heatmap clicks read the very numbers the page
shows, and a refresh while the weights stand still costs nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import multiprocessing
import os
import secrets
import threading
import unicodedata
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing.connection import Connection
from typing import Literal, Protocol

from app.inspect.views import (
    MAX_INSPECT_CHARS,
    inspect_view,
    lit_layers,
    nonfinite_note,
    render,
    vector_view,
)
from app.inspect.walk import walk_view
from app.training.events import finite
from rnn_core import RNN, Vocab
from rnn_core.inspect_report import InspectReport, build_report

log = logging.getLogger("bptt_lab.inspect")

CACHE_SIZE = 8  # reports kept (each holds a T x T x D_h gamma)
DEFAULT_NAMES = ("tyrannosaurus",)  # shown first when the vocabulary spells it
WORKER_TIMEOUT = 30.0  # seconds a job may take in the worker before it runs here instead


class InspectNameError(ValueError):
    """A name that cannot be inspected, with the reason in words a person understands."""


class Snapshot(Protocol):
    """What inspection needs from a snapshot of the run (app.training.run.Snapshot has it).

    Read-only, so a frozen dataclass fits."""

    @property
    def model(self) -> RNN: ...
    @property
    def vocab(self) -> Vocab: ...
    @property
    def step(self) -> int: ...
    @property
    def version(self) -> int: ...


class SnapshotSource(Protocol):
    """Anything that hands out consistent copies of the weights (app.training.run.Run)."""

    def snapshot(self) -> Snapshot: ...


# ------------------------------------------------------------------ checking
def _describe(char: str) -> str:
    """A character as a message shows it: 'é', or U+0009."""
    if unicodedata.category(char).startswith("C") or char.isspace():
        return f"U+{ord(char):04X}"
    return repr(char)


def known_characters(vocab: Vocab) -> str:
    """The vocabulary's characters without the end token, for messages."""
    return "".join(c for c in vocab.chars if c != vocab.end)


def clean_name(raw: str, vocab: Vocab, limit: int = MAX_INSPECT_CHARS) -> str:
    """The name to inspect, or InspectNameError saying what is wrong with it.

    Surrounding spaces are dropped; upper case is lowered when the vocabulary
    has no upper-case letters (the bundled names are lower case)."""
    name = raw.strip()
    if not name:
        raise InspectNameError("type a name to inspect (it is empty)")
    if len(name) > limit:
        raise InspectNameError(
            f"a name to inspect is at most {limit} characters long (this one has {len(name)})"
        )
    for pos, char in enumerate(name, start=1):
        if unicodedata.category(char).startswith("C"):
            raise InspectNameError(
                f"position {pos} holds a control character ({_describe(char)}), not a letter"
            )
    if not any(c.isupper() for c in vocab.chars):
        name = name.lower()
    for pos, char in enumerate(name, start=1):
        if char not in vocab or char == vocab.end:
            raise InspectNameError(
                f"{_describe(char)} at position {pos} is not in the model's vocabulary "
                f"(it knows {known_characters(vocab)!r})"
            )
    return name


# ------------------------------------------------------------ jobs, answers
#: What a job asks for: the panel body, the walk's table, one gamma vector, or /api/inspect's JSON.
JobKind = Literal["result", "walk", "vector", "json"]


@dataclass(frozen=True)
class Job:
    """One thing the page or the API wants about a checked name, with the weights to use."""

    kind: JobKind
    name: str  # already checked by clean_name
    key: str  # names the weights in `model`
    step: int  # their training step
    model: RNN  # a snapshot: later training does not touch it
    vocab: Vocab
    want: str = ""  # the key of the weights the page shows: used if its report is kept
    walk: int = 0  # the step k the walk has lit (0: none)
    t: int = 0  # the gamma_t(k) shown across the hidden units (t = 0: gamma(k))
    k: int = 0
    fresh: bool = False  # asked for by a person (not a refresh): clear the message beside the input


@dataclass(frozen=True)
class Answer:
    """What the route sends back."""

    status: int
    body: str  # HTML, or JSON text for kind "json"
    pid: int = field(default_factory=os.getpid)  # the process that answered: the worker's, or ours


@dataclass(frozen=True)
class Inspected:
    """A report and the weights it was computed under."""

    report: InspectReport
    key: str
    step: int


_reports: OrderedDict[tuple[str, str], Inspected] = OrderedDict()
_reports_lock = threading.Lock()


def report_for(job: Job) -> Inspected:
    """The report for the job: the one for the page's weights if kept, else the job's own."""
    with _reports_lock:
        for key in (job.want, job.key):
            found = _reports.get((job.name, key))
            if found is not None:
                _reports.move_to_end((job.name, key))
                return found
    done = Inspected(build_report(job.model, job.vocab, job.name), job.key, job.step)
    with _reports_lock:
        _reports[(job.name, job.key)] = done
        while len(_reports) > CACHE_SIZE:
            _reports.popitem(last=False)
    return done


def answer(job: Job) -> Answer:
    """Build (or reuse) the report and render what the job asks for."""
    done = report_for(job)
    r = done.report
    if job.kind == "json":
        body = {**r.to_dict(), "step": done.step, "warning": nonfinite_note(r)}
        return Answer(200, json.dumps(finite(body), allow_nan=False))  # JSON has no NaN: null
    if job.kind == "walk":
        walk = walk_view(r, job.walk)
        return Answer(200, render("walk", walk=walk, lit=lit_layers(r, walk.k)))
    if job.kind == "vector":
        if not (1 <= job.k <= job.t <= r.T or (job.t == 0 and 1 <= job.k <= r.T)):
            message = f"γ_t(k) needs 1 ≤ k ≤ t ≤ T = {r.T} (or t = 0 for γ(k))"
            return Answer(422, render("error", message=message))
        return Answer(200, render("vector", vec=vector_view(r, job.t, job.k)))
    view = inspect_view(r, done.key, done.step, job.walk, (job.t, job.k))
    return Answer(200, render("result", insp=view, clear_error=job.fresh))


def warm_up() -> None:
    """Nothing: a first job that makes the worker process start and import this module."""


def watch_server(alive: Connection) -> None:
    """In the worker: end this process once the server that started it is gone.

    A pool's worker outlives a server that was killed, or one that exits while
    the pool's own shutdown is still pending, and it would keep the forkserver
    behind it alive too. ``alive`` is the reading end of a pipe whose only
    writer is the server: a daemon thread waits on it, and end of file means
    the server has closed it or died."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            alive.recv()
        os._exit(0)

    threading.Thread(target=watch, name="inspect-watch-server", daemon=True).start()


# ------------------------------------------------------------------ service
class InspectionService:
    """Turns requests into jobs and has them answered, in a worker process when it can."""

    def __init__(self, processes: bool = True) -> None:
        self._token = secrets.token_hex(3)  # a restarted server never reuses a key
        self._use_pool = processes
        self._pool: ProcessPoolExecutor | None = None
        self._alive: dict[ProcessPoolExecutor, Connection] = {}  # closing one ends its worker
        self._lock = threading.Lock()

    def key_of(self, snap: Snapshot) -> str:
        """The key of a snapshot's weights: this server's token and the run's weights version."""
        return f"{self._token}-{snap.version}"

    def current_key(self, source: SnapshotSource) -> str:
        """The key of the weights now (cheap: the run reuses its snapshot until they move)."""
        return self.key_of(source.snapshot())

    def job(
        self,
        source: SnapshotSource,
        raw_name: str,
        kind: JobKind = "result",
        want: str = "",
        walk: int = 0,
        t: int = 0,
        k: int = 0,
        fresh: bool = False,
    ) -> Job:
        """A job for ``raw_name`` under the current weights; InspectNameError if it is refused."""
        snap = source.snapshot()
        name = clean_name(raw_name, snap.vocab)
        key = self.key_of(snap)
        return Job(kind, name, key, snap.step, snap.model, snap.vocab, want, walk, t, k, fresh)

    def run(self, job: Job) -> Answer:
        """The job's answer, from the worker process if it is up, else from this thread."""
        pool = self._worker()
        if pool is not None:
            try:
                return pool.submit(answer, job).result(timeout=WORKER_TIMEOUT)
            except (BrokenProcessPool, OSError, TimeoutError, RuntimeError) as exc:
                log.warning("inspect worker failed (%s); answering in the server process", exc)
                self._drop_worker(pool)
        return answer(job)

    def default_name(self, source: SnapshotSource) -> str:
        """A first name to show: a famous one if the vocabulary spells it, else a training name."""
        snap = source.snapshot()
        names = getattr(snap, "names", None) or ()
        for name in (*DEFAULT_NAMES, *sorted(names)[:100]):
            try:
                return clean_name(name, snap.vocab)
            except InspectNameError:
                continue
        return DEFAULT_NAMES[0]

    def close(self) -> None:
        """Stop the worker process once its job is done (it starts again on the next job)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            self._drop_worker(pool)

    # ----------------------------------------------------------- the worker
    def _worker(self) -> ProcessPoolExecutor | None:
        if not self._use_pool:
            return None
        with self._lock:
            if self._pool is None:
                try:
                    # forkserver: a clean process, never a fork of this one and its threads
                    context = multiprocessing.get_context("forkserver")
                    alive, writer = context.Pipe(duplex=False)  # we hold the only writer
                    self._pool = ProcessPoolExecutor(
                        max_workers=1,
                        mp_context=context,
                        initializer=watch_server,
                        initargs=(alive,),
                    )
                    self._alive[self._pool] = writer
                    self._pool.submit(warm_up)  # start it (and its imports) before the first job
                except (OSError, ValueError) as exc:
                    log.warning("no inspect worker process (%s): inspecting in-process", exc)
                    self._use_pool = False
            return self._pool

    def _drop_worker(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
            alive = self._alive.pop(pool, None)  # this pool's pipe, never a newer pool's
        pool.shutdown(wait=False, cancel_futures=True)
        if alive is not None:
            alive.close()  # the worker ends even if it is busy or stuck


@lru_cache
def get_inspection() -> InspectionService:
    """The inspection service of this process (swap it in tests with dependency_overrides)."""
    service = InspectionService()
    atexit.register(service.close)
    return service
