"""Many runs: aggregate training throughput and fairness on the local pool and on a local Ray.

    .venv/bin/python bench/bench_runs.py [--counts 1,2,4,8,40] [--seconds 5] [--no-ray]

For each count of running runs (the default configuration, unpaced, D_h = 64),
it measures the steps all of them took in `--seconds` on `--workers` workers,
and compares them with one run alone times min(runs, workers): the share of the
ideal that the executor reaches (target: at least 90% on the local pool). With
the most runs it prints the fairness ratio, the slowest run's steps over the
fastest's (target: at least 0.8). Everything is measured in this one run of
this one process, the local pool first, then Ray beside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the app lives beside bench/
    sys.path.insert(0, str(ROOT))

from app.training.datasets import bundled_dataset  # noqa: E402
from app.training.executor import Executor  # noqa: E402
from app.training.outbox import Checkpoint  # noqa: E402
from app.training.payloads import Status  # noqa: E402
from app.training.pool import LocalPool  # noqa: E402
from app.training.worker import RunSpec  # noqa: E402
from rnn_core.config import TrainConfig  # noqa: E402


class Quiet:
    """A listener that drops what the runs report (the benchmark reads their status)."""

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """Dropped."""

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Dropped."""

    def recovery(self) -> RunSpec:
        """Never needed here."""
        raise RuntimeError("no worker is lost in the benchmark")

    def recovered(self, status: Status) -> None:
        """Never needed here."""


def steps_in(pool: Executor, count: int, seconds: float, tag: str) -> list[int]:
    """Open `count` runs, let them train for `seconds`, return each one's steps in that time."""
    config = TrainConfig(max_steps=10_000_000, eval_every=10_000_000, sample_every=10_000_000)
    dataset = bundled_dataset()
    keys = [f"{tag}-{count}-{i}" for i in range(count)]
    for key in keys:
        spec = RunSpec(key, key, (dataset,), config, checkpoint_seconds=3600.0)
        pool.open(spec, Quiet())
        pool.call(key, "resume")
    time.sleep(1.0)  # warm up
    first = statuses(pool, keys)
    time.sleep(seconds)
    last = statuses(pool, keys)
    for key in keys:
        pool.close(key, save=False)
    return [last[key] - first[key] for key in keys]


def statuses(pool: Executor, keys: list[str]) -> dict[str, int]:
    """Every run's step, asked all at once (a worker answers the waiting commands together)."""
    with ThreadPoolExecutor(max_workers=len(keys)) as threads:
        steps = threads.map(lambda key: pool.call(key, "status")["step"], keys)
        return dict(zip(keys, steps, strict=True))


def measure(pool: Executor, name: str, counts: list[int], seconds: float) -> None:
    """Print throughput against the ideal, and fairness, for each count of runs."""
    alone = sum(steps_in(pool, 1, seconds, f"{name}-alone"))
    print(f"\n{name}: {pool.size} workers; one run alone: {alone / seconds:,.0f} steps/s")
    print(f"{'runs':>5}  {'steps/s':>10}  {'ideal':>10}  {'share':>6}  {'slowest/fastest':>16}")
    for count in counts:
        steps = steps_in(pool, count, seconds, name)
        ideal = alone * min(count, pool.size)
        fairness = min(steps) / max(steps) if max(steps) else 0.0
        print(
            f"{count:>5}  {sum(steps) / seconds:>10,.0f}  {ideal / seconds:>10,.0f}  "
            f"{sum(steps) / ideal:>6.1%}  {fairness:>16.2f}"
        )
        if count == max(counts):
            print(f"       median steps per run {statistics.median(steps):,.0f} of {count} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,2,4,8,40", help="running runs to measure, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds each measurement trains")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="workers of each executor")
    parser.add_argument("--no-ray", action="store_true", help="the local pool only")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    print(f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}, {args.seconds:g} s a measurement")
    local = LocalPool(args.workers)
    try:
        measure(local, "local pool", counts, args.seconds)
    finally:
        local.shutdown()
    if args.no_ray:
        return
    try:
        from app.training.ray_pool import RayPool
    except ImportError:
        print("\nray is not installed (the [ray] extra): its figures are skipped")
        return
    ray_pool = RayPool(args.workers)
    try:
        measure(ray_pool, "ray", counts, args.seconds)
    finally:
        ray_pool.shutdown()


if __name__ == "__main__":
    main()
