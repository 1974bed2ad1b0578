"""The training service: runs keyed by id, and the one thread that trains them.

Today there is one run, `DEFAULT_RUN`; the routes under /api act on it. The
registry keeps the door open for per-visitor runs without reshaping the routes.

The thread is started and stopped by the app's lifespan. It steps every running
run, one batch at a time, each under that run's lock, and saves checkpoints
every `checkpoint_seconds`. Everything a request needs from it is either a
quick action under the lock or a snapshot of the weights; the event loop never
waits on a training step.
"""

from __future__ import annotations

import logging
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
from app.training.run import Run
from app.training.states import NoSuchRunError, NotNowError, RefusedError, RunState
from app.training.storage import RunFolder
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
    """The runs of this server and the thread that trains them."""

    def __init__(self, settings: Settings, hub: EventHub, config: TrainConfig) -> None:
        self.settings, self.hub, self.default_config = settings, hub, config
        self.runs: dict[str, Run] = {}
        self.uploaded: Dataset | None = None
        self.bundled: Dataset | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._upload_lock = threading.Lock()  # the kept names file and `uploaded` change together
        self._unreadable: str | None = None  # why the saved checkpoint was set aside, if it was
        self._thread: threading.Thread | None = None

    # --------------------------------------------------------------- lifecycle
    def open(self) -> None:
        """Load (or resume) the default run, start the thread, and train if autostart is on."""
        folder = self.settings.runs_dir / DEFAULT_RUN
        self.bundled = bundled_dataset(self.settings.names_file)
        self.uploaded = load_saved_upload(folder)
        run = self._resume(folder) or self._fresh(folder)
        run.message = run.message or self._unreadable
        self.runs[DEFAULT_RUN] = run
        self._thread = threading.Thread(target=self._work, name="bptt-trainer", daemon=True)
        self._thread.start()
        if self.settings.autostart and run.state in (RunState.IDLE, RunState.PAUSED):
            run.resume()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread after its current step and save every run."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for run in self.runs.values():
            run.save()

    def get(self, run_id: str = DEFAULT_RUN) -> Run:
        """The run with this id (NoSuchRunError when there is none)."""
        try:
            return self.runs[run_id]
        except KeyError:
            raise NoSuchRunError(f"no run {run_id!r}") from None

    def _work(self) -> None:
        """The training thread: step every running run; sleep when none runs."""
        while not self._stop.is_set():
            busy = False
            for run in list(self.runs.values()):
                if run.state is RunState.RUNNING:
                    run.train_once()
                    busy = True
                run.save_if_due(self.settings.checkpoint_seconds)
            if not busy:
                self._wake.wait(0.5)
                self._wake.clear()

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
        self.get(run_id).start(_new_trainer(config, dataset), dataset)

    def reset(self, run_id: str = DEFAULT_RUN) -> None:
        """Fresh weights for the run, same configuration and data, not training."""
        self.get(run_id).reset(_new_trainer)

    def load_checkpoint(self, data: bytes, run_id: str = DEFAULT_RUN) -> None:
        """Continue the run from checkpoint bytes; a bad file changes nothing (422)."""
        run = self.get(run_id)
        try:
            # Read and checked before the run's lock is taken; a compressed archive may not
            # unpack to more than an upload may weigh.
            ckpt = load_checkpoint(data, max_unpacked_bytes=self.settings.max_checkpoint_bytes)
            check_within_bounds(ckpt)
            run.load(lambda dataset: Trainer.from_checkpoint(ckpt, dataset.names))
        except ValueError as exc:  # CheckpointError, VocabError, NamesError are ValueErrors
            raise RefusedError(f"checkpoint refused: {exc}", field="file") from None

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
            with run.reading():
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
    def _new_run(self, folder: Path, dataset: Dataset, trainer: Trainer, state: RunState) -> Run:
        return Run(
            DEFAULT_RUN,
            folder,
            self.hub,
            dataset,
            trainer,
            state=state,
            progress_hz=self.settings.progress_hz,
            wake=self._wake.set,
        )

    def _fresh(self, folder: Path) -> Run:
        """A new run on the bundled names with the default config, at step 0."""
        assert self.bundled is not None
        trainer = _new_trainer(self.default_config, self.bundled)
        run = self._new_run(folder, self.bundled, trainer, RunState.IDLE)
        trainer.evaluate()
        return run

    def _resume(self, folder: Path) -> Run | None:
        """The run saved in `folder`, paused; None if there is none or it cannot be read.

        Temporary files of saves a crash interrupted are deleted unread; a checkpoint
        that cannot be read is set aside (never overwritten) and a fresh run starts.
        """
        store = RunFolder(folder)
        store.remove_leftovers()
        if not store.checkpoint.is_file():
            return None
        try:
            trainer, dataset = self._resume_on(store.checkpoint.read_bytes(), self._candidates(store))
        except (ValueError, OSError) as exc:
            kept = store.set_aside()
            log.warning("not resuming %s: %s; it is kept as %s", store.checkpoint, exc, kept)
            self._unreadable = f"The saved checkpoint could not be read ({exc}); it is kept as {kept}."
            return None
        state = RunState.FINISHED if trainer.finished else RunState.PAUSED
        run = self._new_run(folder, dataset, trainer, state)
        log.info("resumed %s at step %d", store.checkpoint, trainer.step)
        return run

    def _candidates(self, store: RunFolder) -> list[Dataset]:
        """The data sets a saved run may train on: the one run.json names first."""
        assert self.bundled is not None
        found: list[Dataset] = []
        for dataset in (self._saved_dataset(store), self.bundled, self.uploaded):
            if dataset is not None and all(dataset.names != d.names for d in found):
                found.append(dataset)
        return found

    @staticmethod
    def _resume_on(data: bytes, candidates: list[Dataset]) -> tuple[Trainer, Dataset]:
        """The checkpoint resumed on the data set it was trained on, else the first that fits.

        The checkpoint's fingerprint of its names says which data set it was trained
        on (a kill between writing it and run.json may leave run.json behind).
        ValueError when no candidate fits its vocabulary.
        """
        extra = load_checkpoint(data).extra.get("trainer")
        digest = extra.get("names_digest") if isinstance(extra, dict) else None
        fitting: list[tuple[Trainer, Dataset]] = []
        problem: ValueError | None = None
        for dataset in candidates:
            try:
                trainer = Trainer.resume(data, dataset.names)
            except ValueError as exc:  # CheckpointError, VocabError: not this data set
                problem = problem or exc
                continue
            if trainer.names_digest == digest:
                return trainer, dataset
            fitting.append((trainer, dataset))
        if fitting:
            return fitting[0]
        raise problem or ValueError("no data set fits the checkpoint")

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


def _new_trainer(config: TrainConfig, dataset: Dataset) -> Trainer:
    """A trainer for `config` on `dataset` (422 naming the field if the config is unusable)."""
    try:
        return Trainer(config, dataset.names)
    except (ValueError, NamesError) as exc:
        raise RefusedError(str(exc)) from None


def check_within_bounds(ckpt: Checkpoint) -> None:
    """Refuse a checkpoint whose run this server would not start itself (say D_h = 3000)."""
    fields = ckpt.config.to_dict() if ckpt.config is not None else {}
    fields["hidden_size"] = ckpt.model.hidden_size
    try:
        TrainConfig.from_dict(fields)
    except ValueError as exc:
        raise ValueError(f"its configuration is outside this server's bounds: {exc}") from None
