"""The worker class itself, in this process: commands, fair sharing by worker time, pacing."""

from __future__ import annotations

import time

import pytest

from app.training.datasets import bundled_dataset
from app.training.outbox import Outbox
from app.training.states import NoSuchRunError, NotNowError, RunState
from app.training.worker import RunSpec, Worker
from rnn_core.config import TrainConfig

from ..conftest import TINY

DATA = bundled_dataset()


def spec(key: str, **config: object) -> RunSpec:
    return RunSpec(key, key, (DATA,), TrainConfig.from_dict({**TINY, **config}))


def test_a_run_obeys_its_commands_and_reports_through_the_outbox() -> None:
    worker = Worker(Outbox())
    status = worker.open(spec("a"))
    assert status["state"] == "idle" and status["step"] == 0
    assert worker.handle("a", "step")["step"] == 1
    assert worker.handle("a", "resume")["state"] == "running"
    worker.work(0.1)
    paused = worker.handle("a", "pause")
    assert paused["state"] == "paused" and paused["step"] > 1
    with pytest.raises(NotNowError, match="cannot pause"):
        worker.handle("a", "pause")
    with pytest.raises(NoSuchRunError):
        worker.handle("nobody", "status")
    events, checkpoints = worker.outbox.take()
    assert {kind for _, kind, _ in events} >= {"state", "progress"}
    assert [c.key for c in checkpoints] == ["a"]  # pausing saves: the bytes go to the web process
    assert not worker.outbox


def test_runs_share_the_worker_by_time_not_by_steps() -> None:
    worker = Worker(Outbox())
    worker.open(spec("small", hidden_size=8))
    worker.open(spec("large", hidden_size=256, batch_size=64))
    for key in ("small", "large"):
        worker.handle(key, "resume")
    for _ in range(60):
        worker.work(0.02)
    small, large = worker.slots["small"], worker.slots["large"]
    assert min(small.used, large.used) / max(small.used, large.used) > 0.7, (small.used, large.used)
    assert small.run.trainer.step > 2 * large.run.trainer.step  # the large run costs more a step


def test_a_run_that_comes_back_shares_from_then_on_instead_of_taking_back_its_pause() -> None:
    worker = Worker(Outbox())
    for key in ("early", "late"):
        worker.open(spec(key))
    worker.handle("early", "resume")
    for _ in range(20):
        worker.work(0.02)  # "early" trains alone for about 0.4 s of worker time
    worker.handle("late", "resume")
    early, late = worker.slots["early"], worker.slots["late"]
    assert late.used >= early.used  # it joins where the running run is, owed nothing
    before = early.run.trainer.step, late.run.trainer.step
    for _ in range(20):
        worker.work(0.02)
    gained = early.run.trainer.step - before[0], late.run.trainer.step - before[1]
    assert min(gained) / max(gained) > 0.6, gained  # from now on they share; neither starves


def test_a_paced_run_takes_its_steps_no_faster_than_its_pace() -> None:
    worker = Worker(Outbox())
    worker.open(spec("paced", steps_per_second=40.0))
    worker.handle("paced", "resume")
    started = time.perf_counter()
    while time.perf_counter() - started < 0.5:
        time.sleep(min(worker.work(0.02), 0.05))
    steps = worker.slots["paced"].run.trainer.step
    assert 12 <= steps <= 22, steps  # 40 a second for half a second
    worker.handle("paced", "configure", [{"steps_per_second": None}])
    assert worker.handle("paced", "status")["config"]["steps_per_second"] is None
    assert worker.slots["paced"].run.state is RunState.RUNNING
