"""The training service: the runs of this server, trained by an executor off the web process.

Today there is one run, `DEFAULT_RUN`; the routes under /api act on it. Each
run is a `RunProxy` (app/training/proxy.py) in this process and a `Run` in a
worker of the executor (app/training/pool.py): no training step runs here.
The service opens the runs at start (resuming their checkpoints from the runs
folder, which this process writes), routes actions to them, and samples names
from a snapshot of their weights; the event loop never waits on a worker.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings
from app.training.datasets import (
    BUNDLED,
    UPLOADED,
    Dataset,
    bundled_dataset,
    load_saved_upload,
    parse_upload,
    save_upload,
)
from app.training.events import EventHub
from app.training.pool import LocalPool
from app.training.proxy import RunProxy
from app.training.states import NoSuchRunError, NotNowError, RefusedError, RunError, RunState
from app.training.storage import RunFolder
from app.training.worker import RunSpec
from rnn_core.checkpoint import Checkpoint, load_checkpoint
from rnn_core.config import TrainConfig
from rnn_core.data import NamesError, load_names
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

    def __init__(self, settings: Settings, hub: EventHub, config: TrainConfig, executor: LocalPool) -> None:
        self.settings, self.hub, self.default_config, self.executor = settings, hub, config, executor
        self.runs: dict[str, RunProxy] = {}
        self.uploaded: Dataset | None = None
        self.bundled: Dataset | None = None
        self._upload_lock = threading.Lock()  # the kept names file and `uploaded` change together
        self._prefix = secrets.token_hex(4)  # this service's runs, among others sharing the executor

    # --------------------------------------------------------------- lifecycle
    def open(self) -> None:
        """Open (or resume) the default run on a worker, training at once if autostart is on."""
        folder = self.settings.runs_dir / DEFAULT_RUN
        self.bundled = bundled_dataset(self.settings.names_file)
        self.uploaded = load_saved_upload(folder)
        run = self._open(DEFAULT_RUN, folder)
        self.runs[DEFAULT_RUN] = run
        if self.settings.autostart and run.state in (RunState.IDLE, RunState.PAUSED):
            run.resume()

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
        """The run with this id (NoSuchRunError when there is none)."""
        try:
            return self.runs[run_id]
        except KeyError:
            raise NoSuchRunError(f"no run {run_id!r}") from None

    # ----------------------------------------------------------------- actions
    def dataset(self, source: str) -> Dataset:
        """The bundled names or the uploaded ones (422 if none was uploaded)."""
        if source == UPLOADED:
            if self.uploaded is None:
                raise NotNowError("no names file uploaded yet: upload one first", field="dataset")
            return self.uploaded
        assert self.bundled is not None
        return self.bundled

    def start(self, config: TrainConfig, source: str = BUNDLED, run_id: str = DEFAULT_RUN) -> None:
        """A new run with `config` on the chosen data set, training at once."""
        dataset = self.dataset(source)
        self.get(run_id).start(config, dataset)

    def reset(self, run_id: str = DEFAULT_RUN) -> None:
        """Fresh weights for the run, same configuration and data, not training."""
        self.get(run_id).reset()

    def load_checkpoint(self, data: bytes, run_id: str = DEFAULT_RUN) -> None:
        """Continue the run from checkpoint bytes; a bad file changes nothing (422)."""
        run = self.get(run_id)
        try:
            # Read and checked before the run's lock is taken; a compressed archive may not
            # unpack to more than an upload may weigh.
            ckpt = load_checkpoint(data, max_unpacked_bytes=self.settings.max_checkpoint_bytes)
            check_within_bounds(ckpt)
            Trainer.from_checkpoint(ckpt, run.dataset.names)  # it must fit the run's data set
        except ValueError as exc:  # CheckpointError, VocabError, NamesError are ValueErrors
            raise RefusedError(f"checkpoint refused: {exc}", field="file") from None
        run.load(data)

    def upload_names(self, data: bytes, filename: str) -> Dataset:
        """Check and keep an uploaded names file; the next start may train on it."""
        try:
            dataset = parse_upload(data, filename)
        except NamesError as exc:
            raise RefusedError(f"names file refused: {exc}", field="file") from None
        folder = self.get().folder
        with self._upload_lock:
            try:
                save_upload(folder, dataset)
            except OSError as exc:
                log.warning("cannot keep the uploaded names in %s: %s", folder, exc)
            self.uploaded = dataset
        return dataset

    def generate(
        self,
        count: int,
        temperature: float,
        prefix: str = "",
        max_length: int = 20,
        seed: int | None = None,
        run_id: str = DEFAULT_RUN,
    ) -> tuple[list[GeneratedName], GeneratedName, int]:
        """`count` names sampled from a snapshot of the weights, the greedy one, and the step."""
        run = self.get(run_id)
        snap = run.snapshot()
        max_length = max(max_length, len(prefix))  # the prefix always fits
        temperature = temperature if temperature >= MIN_TEMPERATURE else 0.0  # 1e-300 overflows
        unknown = next((c for c in prefix if c not in snap.vocab), None)
        if unknown is not None:
            known = "".join(c for c in snap.vocab.chars if c != snap.vocab.end)
            message = f"{unknown!r} is not a character the model knows ({known})"
            raise RefusedError(message, field="prefix")
        try:
            drawn = sample_with_log_probs(
                snap.model, snap.vocab, count, temperature, prefix, max_length, seed
            )
            best = greedy(snap.model, snap.vocab, prefix, max_length)
        except ValueError as exc:
            raise RefusedError(str(exc), field="prefix") from None

        def described(s: SampledName) -> GeneratedName:
            return GeneratedName(s.name, s.log_prob, s.log_prob_per_char, s.name not in snap.names, s.ended)

        return [described(s) for s in drawn], described(best), snap.step

    # ------------------------------------------------------------- internals
    def _open(self, run_id: str, folder: Path) -> RunProxy:
        """The run saved in `folder` resumed on a worker, or a fresh one when none can be.

        Temporary files of saves a crash interrupted are deleted unread; a checkpoint
        that cannot be read is set aside (never overwritten) and a fresh run starts.
        """
        assert self.bundled is not None
        store = RunFolder(folder)
        store.remove_leftovers()
        key = f"{self._prefix}/{run_id}"
        candidates, data, message = self._candidates(store), None, None
        if store.checkpoint.is_file():
            try:
                data = store.checkpoint.read_bytes()
                load_checkpoint(data, max_unpacked_bytes=self.settings.max_checkpoint_bytes)
            except (ValueError, OSError) as exc:
                data, message = None, self._set_aside(store, exc)
        while True:
            spec = RunSpec(
                key,
                run_id,
                tuple(candidates) if data is not None else (self.bundled,),
                self.default_config,
                checkpoint=data,
                progress_hz=self.settings.progress_hz,
                checkpoint_seconds=self.settings.checkpoint_seconds,
                good_period=self.settings.rollback_seconds,
                message=message,
            )
            proxy = RunProxy(spec, self.executor, self.hub, folder)
            try:
                proxy._apply(self.executor.open(spec, proxy))
            except RefusedError as exc:
                if data is None:
                    raise
                data, message = None, self._set_aside(store, exc)  # no data set fits it
                continue
            proxy.dataset = next(
                (d for d in spec.datasets if d.summary() == proxy.status()["dataset"]), proxy.dataset
            )
            if data is not None:
                log.info("resumed %s at step %d", store.checkpoint, proxy.at_step)
            return proxy

    @staticmethod
    def _set_aside(store: RunFolder, exc: BaseException) -> str:
        kept = store.set_aside()
        log.warning("not resuming %s: %s; it is kept as %s", store.checkpoint, exc, kept)
        return f"The saved checkpoint could not be read ({exc}); it is kept as {kept}."

    def _candidates(self, store: RunFolder) -> list[Dataset]:
        """The data sets a saved run may train on: the one run.json names first."""
        assert self.bundled is not None
        found: list[Dataset] = []
        for dataset in (self._saved_dataset(store), self.bundled, self.uploaded):
            if dataset is not None and all(dataset.names != d.names for d in found):
                found.append(dataset)
        return found

    def _saved_dataset(self, store: RunFolder) -> Dataset:
        """The data set run.json names: the bundled one, or the uploaded names it holds."""
        assert self.bundled is not None
        info = store.read_run_info()
        if info.get("dataset") != UPLOADED:
            return self.bundled
        names = info.get("names")
        if not isinstance(names, list):  # run.json of an older version: no names in it
            return self.uploaded or self.bundled
        try:
            names = tuple(load_names(names))
        except ValueError:  # NamesError
            return self.uploaded or self.bundled
        return Dataset(UPLOADED, str(info.get("filename", "names.txt")), names)


def check_within_bounds(ckpt: Checkpoint) -> None:
    """Refuse a checkpoint whose run this server would not start itself (say D_h = 3000)."""
    fields = ckpt.config.to_dict() if ckpt.config is not None else {}
    fields["hidden_size"] = ckpt.model.hidden_size
    try:
        TrainConfig.from_dict(fields)
    except ValueError as exc:
        raise ValueError(f"its configuration is outside this server's bounds: {exc}") from None
