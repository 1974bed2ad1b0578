"""Where the time of one rnn_core training step goes, phase by phase.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/profile_step.py [--hidden 100] [--batch-size 32]

A training step is `loss_and_grads` (forward, backward) then the optimizer's
`step`. Each phase of it (the methods of `RNN`, `Cell`, `Batch`, the softmax
and the optimizer, whichever of them exist) is wrapped in a timer for a few
hundred steps; a phase's own time excludes the phases it calls, so the rows
add up to the whole step. A timer costs about 0.3 us, once per phase and step.

The two loops over time steps are then taken apart, per time step:

    GEMM            the same products alone, at the same shapes (W_h h(t-1), W_h^T dz)
    fixed cost      the same loop on a model with D_h = 1: the interpreter and
                    NumPy's cost per call, which do not grow with the data
    element-wise    the rest: sigma, the adds, gamma o sigma'

Used by bench_core.py (which prints it for the rnn_core row) and on its own.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # one BLAS thread, before NumPy is imported
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse
import contextlib
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

Seqs = list[list[int]]

# (where, attribute, label): the phases of a step, in the order they run. Missing ones are
# skipped, so the same table profiles an older rnn_core. "model" is the model's module.
PHASES: tuple[tuple[str, str, str], ...] = (
    ("RNN", "loss_and_grads", "loss_and_grads (the rest)"),
    ("RNN", "forward", "forward (the rest)"),
    ("RNN", "_forward", "forward (the rest)"),
    ("RNN", "_batch", "pack the batch (Batch)"),
    ("Batch", "from_sequences", "pack the batch (Batch)"),
    ("RNN", "cell", "lay out the weights (Cell)"),
    ("RNN", "_recurrence", "forward loop, Eq. 1.1-1.2"),
    ("Cell", "inputs", "input gather W_x x + b1"),
    ("Cell", "step", "unit steps (Cell.step)"),
    ("Cell", "h", "h = a + b s"),
    ("RNN", "_output", "output layer (the rest)"),
    ("Cell", "theta", "theta = U h + b2"),
    ("model", "softmax", "softmax, Eq. 3.1"),
    ("RNN", "backward", "backward (the rest)"),
    ("RNN", "_backward", "backward (the rest)"),
    ("RNN", "_output_grads", "dU, db2, U^T dtheta"),
    ("RNN", "_backprop_through_time", "backward loop, Eq. 6.2"),
    ("RNN", "_input_grads", "dW_h, dW_x, db1"),
    ("Optimizer", "step", "optimizer (the rest)"),
    ("optimizer", "_update", "optimizer update"),
)


@dataclass
class Timers:
    """Own time and calls per label; a stack so that a phase's children are not counted twice."""

    own: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _stack: list[float] = field(default_factory=list)

    def wrap(self, fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                children = self._stack.pop()
                self.own[label] += dt - children
                self.calls[label] += 1
                if self._stack:
                    self._stack[-1] += dt

        return timed


@contextlib.contextmanager
def timed_phases(model: Any, optimizer: Any, timers: Timers, per_step: bool) -> Iterator[None]:
    """Wrap every phase found (class attributes, module functions) for the duration."""
    model_module = sys.modules[type(model).__module__]
    owners: dict[str, Any] = {
        "RNN": type(model),
        "Cell": getattr(model_module, "Cell", None),
        "Batch": getattr(model_module, "Batch", None),
        "model": model_module,
    }
    for key, attr in (("Optimizer", "step"), ("optimizer", "_update")):
        owners[key] = next((c for c in type(optimizer).__mro__ if attr in vars(c)), None)
    undo: list[tuple[Any, str, Any]] = []
    try:
        for where, attr, label in PHASES:
            owner = owners.get(where)
            if owner is None or attr not in vars(owner):
                continue
            if where == "Cell" and attr == "step" and not per_step:
                continue  # called once per time step: left to the per-step breakdown
            original = vars(owner)[attr]
            if isinstance(original, classmethod):
                wrapped: Any = classmethod(timers.wrap(original.__func__, label))
            else:
                wrapped = timers.wrap(original, label)
            setattr(owner, attr, wrapped)
            undo.append((owner, attr, original))
        yield
    finally:
        for owner, attr, original in reversed(undo):
            setattr(owner, attr, original)


@dataclass
class Profile:
    """Microseconds per training step by phase, and the two time loops per time step."""

    phases: list[tuple[str, float]]  # (label, us per training step), in running order
    total_us: float  # the whole step, timed without the wrappers
    steps_per_batch: float  # mean T_max
    loops: list[tuple[str, float, float, float, float]]  # label, us/step: total, GEMM, element-wise, fixed


def _gemm_loop_us(batch: Any, D_h: int, dtype: np.dtype[Any], rounds: int = 50) -> float:
    """us for the recurrence's products alone over one batch's steps (one direction; np.dot)."""
    rng = np.random.default_rng(0)
    n = batch.n_active.tolist()
    W = rng.standard_normal((D_h, D_h)).astype(dtype)
    a = rng.standard_normal((n[0], D_h)).astype(dtype)
    out = np.empty_like(a)
    best = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for n_t in n[1:]:
            np.dot(a[:n_t], W, out=out[:n_t])
        best.append(time.perf_counter() - t0)
    return statistics.median(best) * 1e6


def _loop_us(model: Any, batch: Any, rounds: int = 50) -> tuple[float, float] | None:
    """us of the forward and the backward time loop of ``model`` over ``batch``, or None."""
    if not hasattr(model, "_recurrence") or not hasattr(model, "_backprop_through_time"):
        return None
    cell = model.cell(rows=int(batch.n_active[0]))
    fwd, bwd = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        h, _ = model._recurrence(cell, batch, False)
        t1 = time.perf_counter()
        dz = np.ones_like(h)
        t2 = time.perf_counter()
        model._backprop_through_time(batch, h, dz)
        t3 = time.perf_counter()
        fwd.append(t1 - t0)
        bwd.append(t3 - t2)
    return statistics.median(fwd) * 1e6, statistics.median(bwd) * 1e6


def profile_step(
    model: Any,
    optimizer: Any,
    batches: Sequence[Seqs],
    blocks: int = 15,
    steps: int = 40,
) -> Profile:
    """Time training steps (``loss_and_grads`` + ``optimizer.step``) phase by phase.

    ``blocks`` blocks of ``steps`` steps each, timed without and then with the phase
    timers in turn; every figure is the median over the blocks, so that a burst of
    other work on the machine moves it little.
    """

    def train(i: int) -> None:
        _, grads = model.loss_and_grads(batches[i % len(batches)])
        optimizer.step(grads)

    for i in range(20):  # warm-up
        train(i)
    totals: list[float] = []
    per_block: dict[str, list[float]] = defaultdict(list)
    for k in range(blocks):
        t0 = time.perf_counter()
        for i in range(steps):
            train(k * steps + i)
        totals.append((time.perf_counter() - t0) / steps * 1e6)
        timers = Timers()
        with timed_phases(model, optimizer, timers, per_step=False):
            for i in range(steps):
                train(k * steps + i)
        for label, own in timers.own.items():
            per_block[label].append(own / steps * 1e6)
    labels = list(dict.fromkeys(label for _, _, label in PHASES))
    phases = [(label, statistics.median(per_block[label])) for label in labels if label in per_block]

    # The two loops, per time step: on a few batches, against their GEMMs and a D_h = 1 twin.
    Batch = sys.modules[type(model).__module__].Batch
    loops: list[tuple[str, float, float, float, float]] = []
    sample = list(batches[:: max(1, len(batches) // 8)])
    packed = [Batch.from_sequences(s, model.start_id, model.end_id) for s in sample]
    tiny = type(model)(model.vocab_size, 1, activation=model.activation, seed=0, dtype=model.dtype)
    timed = [
        (_loop_us(model, b), _loop_us(tiny, b), _gemm_loop_us(b, model.hidden_size, model.dtype))
        for b in packed
    ]
    n_steps = sum(b.t_max for b in packed)
    if all(full is not None and small is not None for full, small, _ in timed):
        for k, label in ((0, "forward loop (Eq. 1.1-1.2)"), (1, "backward loop (Eq. 6.2)")):
            total = sum(full[k] for full, _, _ in timed if full) / n_steps
            fixed = sum(small[k] for _, small, _ in timed if small) / n_steps
            gemm = sum(g for _, _, g in timed) / n_steps
            loops.append((label, total, gemm, total - gemm - fixed, fixed))
    steps_per_batch = statistics.fmean(b.t_max for b in packed)
    return Profile(phases, statistics.median(totals), steps_per_batch, loops)


def format_profile(p: Profile, title: str) -> list[str]:
    """The profile as printable lines."""
    timed_sum = sum(us for _, us in p.phases)
    lines = [
        f"{title}: {p.total_us:,.0f} us per training step ({timed_sum:,.0f} us with the timers;"
        " medians of blocks)"
    ]
    lines.append(f"  {'phase':<34}{'us/step':>9}{'share':>8}")
    for label, us in p.phases:
        lines.append(f"  {label:<34}{us:>9.1f}{us / timed_sum:>8.0%}")
    if p.loops:
        lines.append(
            f"  per time step ({p.steps_per_batch:.1f} steps a batch on average), us:"
            f"{'total':>8}{'GEMM':>8}{'elem.':>8}{'fixed':>8}"
        )
        for label, total, gemm, elem, fixed in p.loops:
            lines.append(f"    {label:<40}{total:>8.2f}{gemm:>8.2f}{elem:>8.2f}{fixed:>8.2f}")
        lines.append("    (fixed: the same loop at D_h = 1, the interpreter and NumPy's cost per call)")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    from common import as_trainer_batches, load_bench_names, make_batches

    from rnn_core import RNN, Vocab
    from rnn_core.optim import Adam

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", type=int, default=100, help="D_h (default 100)")
    ap.add_argument("--batch-size", type=int, default=32, help="names per batch (default 32)")
    ap.add_argument("--activation", default="sigmoid")
    args = ap.parse_args(argv)
    names, _ = load_bench_names(None)
    vocab = Vocab.from_names(names)
    batches = make_batches(names, vocab, 64, args.batch_size, 0)
    model = RNN(vocab.size, args.hidden, activation=args.activation, seed=0, dtype="float32")
    opt = Adam(model.params, lr=0.01)
    title = f"rnn_core ({args.activation}, D_h = {args.hidden}, B = {args.batch_size})"
    picks = as_trainer_batches(batches, model.start_id, model.end_id)
    print("\n".join(format_profile(profile_step(model, opt, picks), title)))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
