"""The Inspect service: check a name, trace it under a snapshot of the current weights.

A request names a character string; app/inspect/names.py refuses it in plain
words (empty, too long, a control character, a character the vocabulary lacks)
or this module turns it into a `Job`: the checked name, a snapshot of the weights and what the
page wants drawn. `answer(job)` builds the `InspectReport` (rnn_core.inspect_report)
and renders it, as HTML for the panel or as JSON for /api/inspect.

Where the work runs: in one worker process (app/inspect/process.py), so a
trace and its rendering never hold the web process's GIL while it serves
requests and event streams; if the worker cannot start or breaks, the job runs
in the calling thread instead (the routes are plain functions that FastAPI runs
in its thread pool, so the event loop never waits either way).

Reports are cached (in whichever process answers) by (name, weights key), so the
page's step-backwards walk and heatmap clicks read the very numbers the page
shows; so are the fragments rendered from them (by everything the job asks), so
a request repeated while the weights stand still costs nothing. A report computes
its gradient check and its decay under the other activations only when a part
that shows them is asked for (the panel's closed <details>, /api/inspect, Learn). A Learn walk
(app/inspect/learn.py) keeps the snapshot it started on in `frozen`
(app/inspect/frozen.py) and names it in every request, so its numbers stand
still while training goes on, until the student asks for fresh weights.

A job also carries the panel's what-if (app/inspect/whatif.py: a truncation K, a clip norm, a
deliberate bug), checked against the run's own configuration when the job is made; the
truncated, clipped and broken numbers are computed only when a what-if asks for them.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import secrets
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from app.inspect.frozen import FrozenSnapshots, Snapshot, SnapshotSource
from app.inspect.kept import Kept
from app.inspect.learn import LearnError, LearnMeta, LearnQuery, learn_view
from app.inspect.names import InspectNameError, clean_name, known_characters
from app.inspect.parts import PARTS, part_view
from app.inspect.process import WorkerProcess
from app.inspect.views import (
    MAX_INSPECT_CHARS,
    inspect_view,
    lit_layers,
    nonfinite_note,
    render,
    vector_view,
)
from app.inspect.walk import walk_view
from app.inspect.whatif import NO_WHATIF, WhatIf, WhatIfError, parse_whatif
from app.training.events import finite
from rnn_core import RNN, Vocab
from rnn_core.inspect_report import InspectReport, build_report

#: Defined beside their kin (frozen.py, names.py) and used here; importers may take them from here.
__all__ = [
    "MAX_INSPECT_CHARS",
    "InspectNameError",
    "Snapshot",
    "SnapshotSource",
    "WhatIfError",
    "clean_name",
    "known_characters",
]

log = logging.getLogger("bptt_lab.inspect")

CACHE_SIZE = 16  # reports kept (each holds a T x T x D_h gamma)
HTML_CACHE_SIZE = 32  # rendered fragments kept (a panel body is ~150 kB)
DEFAULT_NAMES = ("tyrannosaurus",)  # shown first when the vocabulary spells it
WORKER_TIMEOUT = 30.0  # seconds a job may take in the worker before it runs here instead


class StaleSnapshotError(InspectNameError):
    """A Learn walk asked for weights the service no longer keeps."""


STALE = (
    "the weights this walk was reading are no longer kept on the server (it restarted, or many "
    "walks have started since): press “Fresh weights” to go on with the weights of now"
)


# ------------------------------------------------------------ jobs, answers
#: What a job asks for: the panel body, the walk's table, one gamma vector, /api/inspect's JSON,
#: a step of the Learn walk, or a part the panel shows on demand (the table, the check, the decay).
JobKind = Literal["result", "walk", "vector", "json", "learn", "table", "grad", "decay", "estimates"]


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
    learn: LearnQuery | None = None  # the Learn step to show (with the panel body, or alone)
    now_step: int = 0  # the run's step when the job was made (a frozen walk says how far it has got)
    opened: tuple[str, ...] = ()  # the parts (parts.PARTS) the page has open: drawn in the body
    whatif: WhatIf = NO_WHATIF  # the truncation, clip and bug the panel asks to imagine

    def html_key(self, weights: str) -> tuple[object, ...]:
        """What the fragment drawn for this job depends on, given the key of the weights used."""
        return (self.kind, self.name, weights, self.walk, self.t, self.k, self.fresh, self.learn,
                self.now_step if self.learn is not None else 0, self.opened, self.whatif)  # fmt: skip


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


_reports: Kept[tuple[str, str], Inspected] = Kept(CACHE_SIZE)  # by (name, weights key)
_html: Kept[tuple[object, ...], Answer] = Kept(HTML_CACHE_SIZE)  # by Job.html_key


def report_for(job: Job) -> Inspected:
    """The report for the job: the one for the page's weights if kept, else the job's own."""
    for key in (job.want, job.key):
        found = _reports.get((job.name, key))
        if found is not None:
            return found
    done = Inspected(build_report(job.model, job.vocab, job.name), job.key, job.step)
    _reports.put((job.name, job.key), done)
    return done


def answer(job: Job) -> Answer:
    """Build (or reuse) the report and render what the job asks for (or reuse that too)."""
    done = report_for(job)
    if job.kind == "json":
        return _answer(job, done)
    key = job.html_key(done.key)
    found = _html.get(key)
    if found is not None:
        return Answer(found.status, found.body)
    made = _answer(job, done)
    _html.put(key, made)
    return made


def _answer(job: Job, done: Inspected) -> Answer:
    """What the job asks for, rendered from its report."""
    r = done.report
    if job.kind == "json":
        body = {**r.to_dict(), "step": done.step, "warning": nonfinite_note(r)}
        return Answer(200, json.dumps(finite(body), allow_nan=False))  # JSON has no NaN: null
    if job.kind == "walk":
        walk = walk_view(r, job.walk, job.whatif.K)
        return Answer(200, render("walk", walk=walk, lit=lit_layers(r, walk.k)))
    if job.kind == "vector":
        if not (1 <= job.k <= job.t <= r.T or (job.t == 0 and 1 <= job.k <= r.T)):
            message = f"γ_t⁽ᵏ⁾ needs 1 ≤ k ≤ t ≤ T = {r.T} (or t = 0 for the sum over t)"
            return Answer(422, render("error", message=message))
        return Answer(200, render("vector", vec=vector_view(r, job.t, job.k)))
    if job.kind == "table":
        return Answer(200, render("table", table=part_view(r, "table", job.walk, job.whatif)))
    if job.kind == "grad":
        return Answer(200, render("grad", grad=part_view(r, "grad", w=job.whatif)))
    if job.kind == "decay":
        return Answer(200, render("decay", decay=part_view(r, "decay")))
    if job.kind == "estimates":
        return Answer(200, render("estimates", estimates=part_view(r, "estimates", w=job.whatif)))
    learn, learn_error = None, None
    if job.learn is not None:
        labels = tuple(job.vocab.label(i) for i in range(job.vocab.size))
        meta = LearnMeta(job.name, done.key, done.step, max(job.now_step, done.step))
        try:
            learn = learn_view(r, job.model.in_float64(), labels, job.learn, meta)
        except LearnError as exc:
            learn_error = str(exc)
    if job.kind == "learn":
        if learn is None:
            return Answer(422, render("error", message=learn_error))
        return Answer(200, render("learn", learn=learn, oob=True))
    view = inspect_view(r, done.key, done.step, job.walk, (job.t, job.k), job.opened, job.whatif)
    html = render("result", insp=view, clear_error=job.fresh, learn=learn, learn_error=learn_error)
    return Answer(200, html)


# ------------------------------------------------------------------ service
class InspectionService:
    """Turns requests into jobs and has them answered, in a worker process when it can."""

    def __init__(self, processes: bool = True) -> None:
        self._token = secrets.token_hex(3)  # a restarted server never reuses a key
        self.process = WorkerProcess(enabled=processes)
        self.frozen = FrozenSnapshots()  # the weights each Learn walk reads, by key

    def key_of(self, snap: Snapshot) -> str:
        """The key of a snapshot's weights: this server's token, the run and its weights' version."""
        return f"{self._token}-{snap.run_id}-{snap.version}"

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
        learn: LearnQuery | None = None,
        snap: str = "",
        opened: Sequence[str] = (),
        whatif: tuple[str, str, str] = ("", "", ""),
    ) -> Job:
        """A job for ``raw_name`` under the current weights; InspectNameError if it is refused.

        ``snap`` names the frozen weights of a Learn walk (StaleSnapshotError when they are no
        longer kept); a walk asked for without it starts on the weights of now and keeps them.
        Weights the page shows (``want``) that a walk froze are read again exactly. ``opened``
        names the parts the page has open (only app/inspect/parts.py PARTS are kept). ``whatif``
        is the query's (k_trunc, clip, bug), checked against the run's configuration (WhatIfError
        says what is wrong with one)."""
        now = source.snapshot()
        if snap:
            kept = self.frozen.get(snap)
            if kept is None:
                raise StaleSnapshotError(STALE)
            use, key = kept, snap
        elif want and (kept := self.frozen.get(want)) is not None:
            use, key = kept, want
        else:
            use, key = now, self.key_of(now)
            if learn is not None:
                self.frozen.keep(key, now)
        name = clean_name(raw_name, use.vocab)
        lens = parse_whatif(*whatif, config=getattr(use, "config", None))
        parts = tuple(p for p in PARTS if p in opened)
        return Job(kind, name, key, use.step, use.model, use.vocab, want, walk, t, k, fresh, learn,
                   now.step, parts, lens)  # fmt: skip

    def run(self, job: Job) -> Answer:
        """The job's answer, from the worker process if it is up, else from this thread."""
        pool = self.process.get()
        if pool is not None:
            try:
                return pool.submit(answer, job).result(timeout=WORKER_TIMEOUT)
            except (BrokenProcessPool, OSError, TimeoutError, RuntimeError) as exc:
                log.warning("inspect worker failed (%s); answering in the server process", exc)
                self.process.drop(pool)
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
        self.process.close()


@lru_cache
def get_inspection() -> InspectionService:
    """The inspection service of this process (swap it in tests with dependency_overrides)."""
    service = InspectionService()
    atexit.register(service.close)
    return service
