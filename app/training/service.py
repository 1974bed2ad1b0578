"""The training service: the runs of this server, trained by an executor off the web process.

The run `DEFAULT_RUN` is shared and never goes away (`/api/...` without a run
id means it); visitors create more (app/training/registry.py). Each run is a
`RunProxy` (app/training/proxy.py) in this process and a `Run` in a worker of
the executor (app/training/pool.py): no training step runs here. The service
opens every run of the runs folder at start, in the state it was saved in
(this process writes the checkpoints), hands actions to them, and samples names
from a snapshot of their weights; the event loop never waits on a worker.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings
from app.training.datasets import (
    BUNDLED,
    UPLOADED,
    Dataset,
    bundled_dataset,
    parse_upload,
    save_upload,
)
from app.training.events import EventHub
from app.training.executor import Executor
from app.training.opening import Meta, read_saved, set_aside
from app.training.proxy import RunProxy
from app.training.states import NoSuchRunError, NotNowError, RefusedError, RunError, RunState
from app.training.storage import CHECKPOINT_FILE, RunFolder
from app.training.worker import RunSpec
from rnn_core.checkpoint import Checkpoint, load_checkpoint
from rnn_core.config import TrainConfig
from rnn_core.data import NamesError
from rnn_core.sampling import SampledName, greedy, sample_with_log_probs
from rnn_core.trainer import Trainer

log = logging.getLogger("bptt_lab.training")

DEFAULT_RUN = "default"
MIN_TEMPERATURE = 0.01  # below this, sampling is greedy (temperature 0)


@dataclass(frozen=True)
class GeneratedName:
    """A generated name, its log-probability under the model, and whether it is new."""

    name: str
    log_prob: float  # nats, the whole name with its end token (when it ended)
    log_prob_per_char: float  # log_prob divided by the steps it covers
    novel: bool  # not in the data set
    ended: bool  # False when max_length cut it


class TrainingService:
    """The runs of this server, on `executor`."""

    def __init__(self, settings: Settings, hub: EventHub, config: TrainConfig, executor: Executor) -> None:
        self.settings, self.hub, self.default_config, self.executor = settings, hub, config, executor
        self.runs: dict[str, RunProxy] = {}
        self.bundled: Dataset | None = None
        self._lock = threading.Lock()  # the registry of runs and the kept names files
        self._prefix = secrets.token_hex(4)  # this service's runs, among others sharing the executor

    # --------------------------------------------------------------- lifecycle
    def open(self) -> None:
        """Open every run of the runs folder (the default one, fresh if need be), as it was saved.

        With autostart on, the default run trains at once unless it was saved paused
        by a person; a visitor's run trains again if it was saved training.
        """
        self.bundled = bundled_dataset(self.settings.names_file)
        # The default run comes back paused (or finished): autostart decides whether it trains.
        default = self._open(DEFAULT_RUN, self.settings.runs_dir / DEFAULT_RUN, as_saved=False)
        if self.settings.autostart and default.state in (RunState.IDLE, RunState.PAUSED):
            default.resume()
        root = self.settings.runs_dir
        for folder in sorted(root.iterdir()) if root.is_dir() else ():
            if folder.name == DEFAULT_RUN or not (folder / CHECKPOINT_FILE).is_file():
                continue
            try:
                self._open(folder.name, folder)
            except RunError as exc:
                log.warning("run %s is not brought back: %s", folder.name, exc)

    def close(self) -> None:
        """Every run leaves its worker, saved; the last checkpoints are written before this returns."""
        for run in list(self.runs.values()):
            try:
                run.save()
                self.executor.close(run.key, save=False)
            except RunError as exc:
                log.warning("closing run %s: %s", run.run_id, exc)
        self.runs.clear()

    def get(self, run_id: str = DEFAULT_RUN) -> RunProxy:
        """The run with this id (NoSuchRunError naming it when there is none)."""
        try:
            return self.runs[run_id]
        except KeyError:
            raise NoSuchRunError(f"there is no run {run_id!r}") from None

    def reap(self) -> None:
        """Pause (and take out of memory) a visitor's run idle past `idle_minutes`; delete it past
        `run_ttl_hours`. A run with a viewer or a recent request is not idle."""
        now = time.monotonic()
        for run in list(self.runs.values()):
            if run.run_id == DEFAULT_RUN:
                continue
            if self.hub.viewers(run.run_id):
                run.last_active = now
                continue
            idle = now - run.last_active
            try:
                if idle >= self.settings.run_ttl_hours * 3600:
                    log.info("deleting run %s, idle for %.0f s", run.run_id, idle)
                    self.remove(run)
                elif idle >= self.settings.idle_minutes * 60 and not run.evicted:
                    minutes = f"{self.settings.idle_minutes:g}"
                    run.evict(f"Paused after {minutes} minutes with no viewer; Resume brings it back.")
            except RunError as exc:
                log.warning("idle run %s: %s", run.run_id, exc)

    def remove(self, run: RunProxy) -> None:
        """Take a run out of the server: out of its worker, off the disk."""
        with self._lock:
            self.runs.pop(run.run_id, None)
        if not run.evicted:
            with contextlib.suppress(RunError):  # its worker is gone already: nothing of it is left there
                self.executor.close(run.key, save=False)
        shutil.rmtree(run.folder, ignore_errors=True)

    def listing(self) -> list[RunProxy]:
        """Every run, the default first, then by creation."""
        return sorted(self.runs.values(), key=lambda r: (r.run_id != DEFAULT_RUN, r.meta.created))

    # ----------------------------------------------------------------- actions
    def dataset(self, source: str, run: RunProxy) -> Dataset:
        """The bundled names or the run's uploaded ones (NotNowError if it has none yet)."""
        if source == UPLOADED:
            if run.uploaded is None:
                raise NotNowError("no names file uploaded yet: upload one first", field="dataset")
            return run.uploaded
        assert self.bundled is not None
        return self.bundled

    def start(self, run: RunProxy, config: TrainConfig, source: str = BUNDLED) -> None:
        """The run starts anew with `config` on the chosen data set, training at once."""
        run.start(config, self.dataset(source, run))

    def load_checkpoint(self, run: RunProxy, data: bytes) -> None:
        """Continue the run from checkpoint bytes; a bad file changes nothing (RefusedError)."""
        try:
            # Checked whole here: a compressed archive may not unpack to more than an upload
            # may weigh, and it must fit the run's data set.
            ckpt = load_checkpoint(data, max_unpacked_bytes=self.settings.max_checkpoint_bytes)
            check_within_bounds(ckpt)
            Trainer.from_checkpoint(ckpt, run.dataset.names)
        except ValueError as exc:  # CheckpointError, VocabError, NamesError are ValueErrors
            raise RefusedError(f"checkpoint refused: {exc}", field="file") from None
        run.load(data)

    def upload_names(self, run: RunProxy, data: bytes, filename: str) -> Dataset:
        """Check and keep a names file for the run; its next start may train on it."""
        try:
            dataset = parse_upload(data, filename)
        except NamesError as exc:
            raise RefusedError(f"names file refused: {exc}", field="file") from None
        with self._lock:
            try:
                save_upload(run.folder, dataset)
            except OSError as exc:
                log.warning("cannot keep the uploaded names in %s: %s", run.folder, exc)
            run.uploaded = dataset
        return dataset

    def generate(
        self,
        run: RunProxy,
        count: int,
        temperature: float,
        prefix: str = "",
        max_length: int = 20,
        seed: int | None = None,
    ) -> tuple[list[GeneratedName], GeneratedName, int]:
        """`count` names sampled from a snapshot of the weights, the greedy one, and the step."""
        snap = run.snapshot()
        max_length = max(max_length, len(prefix))  # the prefix always fits
        temperature = temperature if temperature >= MIN_TEMPERATURE else 0.0  # 1e-300 overflows
        unknown = next((c for c in prefix if c not in snap.vocab), None)
        if unknown is not None:
            known = "".join(c for c in snap.vocab.chars if c != snap.vocab.end)
            message = f"{unknown!r} is not a character the model knows ({known})"
            raise RefusedError(message, field="prefix")
        try:
            model, vocab = snap.model, snap.vocab
            drawn = sample_with_log_probs(model, vocab, count, temperature, prefix, max_length, seed)
            best = greedy(model, vocab, prefix, max_length)
        except ValueError as exc:
            raise RefusedError(str(exc), field="prefix") from None

        def described(s: SampledName) -> GeneratedName:
            return GeneratedName(s.name, s.log_prob, s.log_prob_per_char, s.name not in snap.names, s.ended)

        return [described(s) for s in drawn], described(best), snap.step

    # ------------------------------------------------------------- internals
    def _open(
        self,
        run_id: str,
        folder: Path,
        meta: Meta | None = None,
        checkpoint: bytes | None = None,
        state: RunState | None = None,
        config: TrainConfig | None = None,
        as_saved: bool = True,
    ) -> RunProxy:
        """Open the run of `folder` on a worker: its checkpoint resumed (or `checkpoint`), else fresh.

        A checkpoint that cannot be read, or fits none of the data sets, is set
        aside (never overwritten) and the run starts fresh.
        """
        assert self.bundled is not None
        saved = read_saved(folder, self.bundled, self.settings.max_checkpoint_bytes)
        data = checkpoint or saved.checkpoint
        message = saved.message
        while True:
            spec = RunSpec(
                f"{self._prefix}/{run_id}",
                run_id,
                tuple(saved.datasets) if data is not None else (self.bundled,),
                config or self.default_config,
                checkpoint=data,
                state=state or (saved.state if as_saved else None),
                progress_hz=self.settings.progress_hz,
                checkpoint_seconds=self.settings.checkpoint_seconds,
                good_period=self.settings.rollback_seconds,
                message=message,
            )
            proxy = RunProxy(spec, self.executor, self.hub, folder, meta or saved.meta)
            proxy.uploaded = saved.uploaded
            try:
                proxy.recovered(self.executor.open(spec, proxy))
            except RefusedError as exc:
                if data is None:
                    raise
                data, message = None, set_aside(RunFolder(folder), exc)  # no data set fits it
                continue
            trained_on = proxy.status()["dataset"]
            proxy.dataset = next((d for d in spec.datasets if d.summary() == trained_on), proxy.dataset)
            with self._lock:
                self.runs[run_id] = proxy
            if data is not None:
                log.info("resumed run %s at step %d", run_id, proxy.at_step)
            return proxy


def check_within_bounds(ckpt: Checkpoint) -> None:
    """Refuse a checkpoint whose run this server would not start itself (say D_h = 3000)."""
    fields = ckpt.config.to_dict() if ckpt.config is not None else {}
    fields["hidden_size"] = ckpt.model.hidden_size
    try:
        TrainConfig.from_dict(fields)
    except ValueError as exc:
        raise ValueError(f"its configuration is outside this server's bounds: {exc}") from None
