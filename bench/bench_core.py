"""Training throughput of rnn_core against its peers, measured in one process and one run.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_core.py

Every contender trains the same model (V = 27, D_h = 100, float32, B = 32 names
per batch, the seed's equations 1.1-3.3) on the same fixed list of batches, one
forward + backward + Adam update per batch, on one BLAS thread:

    rnn_core            the product: RNN.loss_and_grads + rnn_core.optim.Adam
    torch eager         the same equations written out step by step with autograd
    torch.nn.RNN        torch's own RNN (tanh: torch has no sigmoid RNN) + Linear
    per-name loop       one name at a time, column vectors, dicts of per-step
                        values, the style of the seed's companion notebooks
    matmuls only        the roofline: just the model's matrix products, same shapes

Repetitions are interleaved (A B C D E A B C D E ...) so that noise from other
work on the machine hits every contender alike; the figures are medians.
Torch is optional (`pip install torch==2.13.0`, the `bench` extra); without it
the torch rows are skipped and said to be.
"""

from __future__ import annotations

import os

# One BLAS / OpenMP thread for everything, before NumPy or torch is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rnn_core import RNN, Vocab  # noqa: E402

try:
    import torch
    from torch.nn import functional as nnf

    torch.set_num_threads(1)
    # Refused once torch has run parallel work; the intra-op threads set above are what count.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
except ImportError:  # torch is an optional extra
    torch = None
    nnf = None

try:
    from rnn_core.optim import Adam as CoreAdam

    ADAM_SOURCE = "rnn_core.optim.Adam"
except ImportError:  # the optimizer module is not there yet: a bench-only stand-in
    CoreAdam = None
    ADAM_SOURCE = "bench-local Adam (rnn_core.optim.Adam not found)"

Seqs = list[list[int]]
LR = 0.01  # the same Adam settings for every contender
BETAS = (0.9, 0.999)
EPS = 1e-8


# ------------------------------------------------------------------------ data
def load_bench_names(explicit: str | None) -> tuple[list[str], str]:
    """The names to draw batches from, and where they came from."""
    candidates = [Path(explicit)] if explicit else []
    candidates += [REPO / "data" / "dinosaurs.txt", REPO.parent / "shared" / "data" / "dinos.txt"]
    for path in candidates:
        if path.is_file():
            names: list[str] = []
            seen: set[str] = set()
            for line in path.read_text(encoding="utf-8").splitlines():
                name = line.strip().lower()
                if name and name.isascii() and name.isalpha() and name not in seen:
                    seen.add(name)
                    names.append(name)
            if names:
                return names, str(path)
    # No file: synthetic names of dinosaur-like lengths over a-z.
    rng = np.random.default_rng(1234)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    names = ["abcdefghijklmnopqrstuvwxyz"]
    names += ["".join(rng.choice(letters, size=int(rng.integers(5, 15)))) for _ in range(1500)]
    return names, "synthetic (no names file found)"


def make_batches(names: Sequence[str], vocab: Vocab, n: int, size: int, seed: int) -> list[Seqs]:
    """A fixed list of n batches of `size` distinct names each, encoded."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n):
        pick = rng.choice(len(names), size=size, replace=False)
        batches.append([vocab.encode(names[i]) for i in pick])
    return batches


# ----------------------------------------------------------------- contenders
@dataclass
class Contender:
    """One way of training: `step(i)` trains on batch i of the shared list."""

    key: str
    label: str
    activation: str
    step: Callable[[int], object]
    rates: list[float] = field(default_factory=list)  # characters per second, one per round
    chunk: int = 1  # batches per timed repetition


class MinimalAdam:
    """Adam with bias correction over a dict of arrays (only if rnn_core.optim is missing)."""

    def __init__(self, params: dict[str, np.ndarray], lr: float) -> None:
        self.params, self.lr, self.t = params, lr, 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        b1, b2 = BETAS
        scale = self.lr * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        for k, p in self.params.items():
            g = grads[k]
            self.m[k] *= b1
            self.m[k] += (1.0 - b1) * g
            self.v[k] *= b2
            self.v[k] += (1.0 - b2) * g * g
            p -= scale * self.m[k] / (np.sqrt(self.v[k]) + EPS)


def rnn_core_contender(model: RNN, batches: list[Seqs], key: str, label: str) -> tuple[Contender, object]:
    opt = CoreAdam(model.params, lr=LR) if CoreAdam else MinimalAdam(model.params, LR)

    def step(i: int) -> None:
        _, grads = model.loss_and_grads(batches[i])
        opt.step(grads)

    return Contender(key, label, model.activation, step), opt


def pack_for_torch(seqs: Seqs, V: int) -> dict[str, object]:
    """Time-major packing, names sorted longest first (the layout torch's PackedSequence uses).

    Only data lives here (no parameters), so it is prepared once, outside the timing.
    """
    order = sorted(range(len(seqs)), key=lambda b: -len(seqs[b]))
    ss = [seqs[b] for b in order]
    lengths = [len(s) + 1 for s in ss]
    T_max = lengths[0]
    x_pad = torch.full((T_max, len(ss)), V, dtype=torch.long)  # V: the start marker x(1) = 0
    onehot = torch.zeros((T_max, len(ss), V), dtype=torch.float32)
    n_active, y_packed = [], []
    for t in range(T_max):
        live = [b for b, length in enumerate(lengths) if length > t]
        n_active.append(len(live))
        for b in live:
            s = ss[b]
            y_packed.append(s[t] if t < len(s) else 0)  # target c_t, then the end token 0
            if t > 0:
                x_pad[t, b] = s[t - 1]
                onehot[t, b, s[t - 1]] = 1.0
    packed = torch.nn.utils.rnn.pack_padded_sequence(onehot, lengths, enforce_sorted=True)
    return {
        "x_pad": x_pad,
        "n_active": n_active,
        "y": torch.tensor(y_packed, dtype=torch.long),
        "packed_onehot": packed,
    }


def torch_params_from(model: RNN) -> dict[str, torch.Tensor]:
    return {
        k: torch.tensor(np.array(p, dtype=np.float32), requires_grad=True) for k, p in model.params.items()
    }


def torch_eager_contender(model: RNN, prepped: list[dict]) -> tuple[Contender, dict]:
    """Eq. 1.1-3.3 written out with autograd: packed rows, a Python loop over time."""
    P = torch_params_from(model)
    opt = torch.optim.Adam(list(P.values()), lr=LR, betas=BETAS, eps=EPS)
    D_h = model.hidden_size
    zero_row = torch.zeros((1, D_h))

    def loss_of(d: dict) -> torch.Tensor:
        # W_x x(t) + b1 for one-hot x(t): a gathered row; the last row is the start marker.
        table = torch.cat((P["W_x"].t(), zero_row)) + P["b1"]
        xin = nnf.embedding(d["x_pad"], table)  # (T_max, B, D_h)
        n_active = d["n_active"]
        h = torch.sigmoid(xin[0])  # t = 1: h(0) = 0
        hs = [h]
        W_h_T = P["W_h"].t()
        for t in range(1, len(n_active)):
            n = n_active[t]
            h = torch.sigmoid(torch.addmm(xin[t, :n], h[:n], W_h_T))  # Eq. 1.1-1.2
            hs.append(h)
        theta = torch.addmm(P["b2"], torch.cat(hs), P["U"].t())  # Eq. 2.1, all rows
        return nnf.cross_entropy(theta, d["y"], reduction="sum")  # Eq. 3.1-3.3

    def step(i: int) -> None:
        opt.zero_grad(set_to_none=True)
        loss_of(prepped[i]).backward()
        opt.step()

    c = Contender("torch_eager", "PyTorch eager autograd", "sigmoid", step)
    return c, {"params": P, "loss_of": loss_of}


def torch_nn_rnn_contender(model: RNN, prepped: list[dict]) -> tuple[Contender, dict]:
    """torch.nn.RNN (tanh) on packed one-hot inputs, a Linear output layer, summed cross-entropy."""
    V, D_h = model.vocab_size, model.hidden_size
    rnn = torch.nn.RNN(V, D_h, nonlinearity="tanh")
    out = torch.nn.Linear(D_h, V)
    with torch.no_grad():  # the same weights as the rnn_core model it is compared with
        rnn.weight_ih_l0.copy_(torch.from_numpy(np.array(model.W_x, dtype=np.float32)))
        rnn.weight_hh_l0.copy_(torch.from_numpy(np.array(model.W_h, dtype=np.float32)))
        rnn.bias_ih_l0.copy_(torch.from_numpy(np.array(model.b1, dtype=np.float32)))
        rnn.bias_hh_l0.zero_()
        out.weight.copy_(torch.from_numpy(np.array(model.U, dtype=np.float32)))
        out.bias.copy_(torch.from_numpy(np.array(model.b2, dtype=np.float32)))
    params = list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adam(params, lr=LR, betas=BETAS, eps=EPS)

    def loss_of(d: dict) -> torch.Tensor:
        hidden, _ = rnn(d["packed_onehot"])
        return nnf.cross_entropy(out(hidden.data), d["y"], reduction="sum")

    def step(i: int) -> None:
        opt.zero_grad(set_to_none=True)
        loss_of(prepped[i]).backward()
        opt.step()

    c = Contender("torch_rnn", "torch.nn.RNN + Linear", "tanh", step)
    return c, {"rnn": rnn, "out": out, "loss_of": loss_of}


class PerNameLoop:
    """One name at a time, as in the classic notebooks: column vectors, dicts of per-step values.

    Parameters keep the notebooks' names: Wax = W_x, Waa = W_h, Wya = U, b = b1, by = b2.
    Gradients are summed over the names of a batch, then one Adam update is applied, so
    the update is the same as every other contender's.
    """

    def __init__(self, model: RNN) -> None:
        f32 = np.float32
        self.V, self.D_h = model.vocab_size, model.hidden_size
        self.p = {
            "Wax": np.array(model.W_x, dtype=f32),
            "Waa": np.array(model.W_h, dtype=f32),
            "Wya": np.array(model.U, dtype=f32),
            "b": np.array(model.b1, dtype=f32).reshape(-1, 1),
            "by": np.array(model.b2, dtype=f32).reshape(-1, 1),
        }
        self.m = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.s = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.t = 0

    def name_forward(self, ids: list[int]) -> tuple[dict, dict, dict, float]:
        p, V = self.p, self.V
        xs, hs, ps = {}, {}, {}
        hs[-1] = np.zeros((self.D_h, 1), dtype=np.float32)
        loss = 0.0
        targets = [*ids, 0]
        for t in range(len(targets)):
            xs[t] = np.zeros((V, 1), dtype=np.float32)
            if t > 0:
                xs[t][ids[t - 1]] = 1.0
            z = p["Wax"] @ xs[t] + p["Waa"] @ hs[t - 1] + p["b"]
            hs[t] = 1.0 / (1.0 + np.exp(-z))
            theta = p["Wya"] @ hs[t] + p["by"]
            e = np.exp(theta - np.max(theta))
            ps[t] = e / np.sum(e)
            loss -= float(np.log(ps[t][targets[t], 0]))
        return xs, hs, ps, loss

    def name_backward(self, ids: list[int], xs: dict, hs: dict, ps: dict, g: dict) -> None:
        p = self.p
        targets = [*ids, 0]
        dh_next = np.zeros_like(hs[0])
        for t in reversed(range(len(targets))):
            dy = ps[t].copy()
            dy[targets[t]] -= 1.0
            g["Wya"] += dy @ hs[t].T
            g["by"] += dy
            dh = p["Wya"].T @ dy + dh_next
            dz = hs[t] * (1.0 - hs[t]) * dh
            g["b"] += dz
            g["Wax"] += dz @ xs[t].T
            g["Waa"] += dz @ hs[t - 1].T
            dh_next = p["Waa"].T @ dz

    def loss_and_grads(self, seqs: Seqs) -> tuple[float, dict]:
        g = {k: np.zeros_like(v) for k, v in self.p.items()}
        total = 0.0
        for ids in seqs:
            xs, hs, ps, loss = self.name_forward(ids)
            self.name_backward(ids, xs, hs, ps, g)
            total += loss
        return total, g

    def adam(self, g: dict) -> None:
        self.t += 1
        b1, b2 = BETAS
        for k in self.p:
            self.m[k] = b1 * self.m[k] + (1 - b1) * g[k]
            self.s[k] = b2 * self.s[k] + (1 - b2) * g[k] ** 2
            m_hat = self.m[k] / (1 - b1**self.t)
            s_hat = self.s[k] / (1 - b2**self.t)
            self.p[k] -= LR * m_hat / (np.sqrt(s_hat) + EPS)

    def as_core_grads(self, g: dict) -> dict[str, np.ndarray]:
        return {
            "W_x": g["Wax"],
            "W_h": g["Waa"],
            "U": g["Wya"],
            "b1": g["b"].ravel(),
            "b2": g["by"].ravel(),
        }


def per_name_contender(model: RNN, batches: list[Seqs]) -> tuple[Contender, PerNameLoop]:
    loop = PerNameLoop(model)

    def step(i: int) -> None:
        _, g = loop.loss_and_grads(batches[i])
        loop.adam(g)

    return Contender("loop", "per-name NumPy loop", "sigmoid", step), loop


# --------------------------------------------------------------- correctness
def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def check_agreement(
    sig: RNN, tanh: RNN, batch: Seqs, prepped0: dict | None, eager: dict | None, nnrnn: dict | None
) -> list[str]:
    """Every contender computes the same loss and gradient as rnn_core before any training."""
    lines = []
    ref_loss, ref = sig.loss_and_grads(batch)
    loop = PerNameLoop(sig)
    loss, g = loop.loss_and_grads(batch)
    g = loop.as_core_grads(g)
    worst = max(rel_err(g[k], ref[k]) for k in ref)
    lines.append(
        f"per-name loop  vs rnn_core (sigmoid): loss rel. diff {abs(loss - ref_loss) / ref_loss:.1e},"
        f" worst gradient rel. diff {worst:.1e}"
    )
    if eager is not None:
        loss_t = eager["loss_of"](prepped0)
        loss_t.backward()
        P = eager["params"]
        worst = max(rel_err(P[k].grad.numpy(), ref[k]) for k in ref)
        for t in P.values():
            t.grad = None
        lines.append(
            f"torch eager    vs rnn_core (sigmoid): loss rel. diff "
            f"{abs(loss_t.item() - ref_loss) / ref_loss:.1e}, worst gradient rel. diff {worst:.1e}"
        )
    if nnrnn is not None:
        ref_loss, ref = tanh.loss_and_grads(batch)
        loss_t = nnrnn["loss_of"](prepped0)
        loss_t.backward()
        rnn, out = nnrnn["rnn"], nnrnn["out"]
        got = {
            "W_x": rnn.weight_ih_l0.grad,
            "W_h": rnn.weight_hh_l0.grad,
            "b1": rnn.bias_ih_l0.grad,
            "U": out.weight.grad,
            "b2": out.bias.grad,
        }
        worst = max(rel_err(got[k].numpy(), ref[k]) for k in ref)
        for prm in [*rnn.parameters(), *out.parameters()]:
            prm.grad = None
        lines.append(
            f"torch.nn.RNN   vs rnn_core (tanh):    loss rel. diff "
            f"{abs(loss_t.item() - ref_loss) / ref_loss:.1e}, worst gradient rel. diff {worst:.1e}"
        )
    return lines


# ------------------------------------------------------------------- roofline
def model_flops(seqs: Seqs, V: int, D_h: int) -> int:
    """Matrix-product FLOPs of one forward + backward pass over a batch (2 per multiply-add).

    Per character (row): forward U h (2 V D_h); backward dJ/dU (2 V D_h) and
    U^T dtheta (2 V D_h). Per row with a previous step (t >= 2; h(0) = 0 needs
    none): forward W_h h(t-1), backward W_h^T dz and dJ/dW_h, 2 D_h^2 each.
    So 6 V D_h N + 6 D_h^2 (N - B). The input term is a gather (no FLOPs);
    element-wise work, softmax and the optimizer are not counted.
    """
    N = sum(len(s) + 1 for s in seqs)
    return 6 * V * D_h * N + 6 * D_h * D_h * (N - len(seqs))


def time_call(fn: Callable[[], object], min_seconds: float = 0.05) -> float:
    """Best seconds per call over a few timed blocks."""
    fn()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_seconds / 5:
            break
        reps *= 2
    best = dt / reps
    for _ in range(4):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def gemm_only_contender(batches: list[Seqs], V: int, D_h: int) -> Contender:
    """The roofline as a contender: for batch i, only the matrix products the model needs.

    Exactly the products counted by `model_flops`, at their true shapes (the
    recurrence at each step's number of live names, forward and backward), into
    preallocated outputs, and nothing else. Its FLOP/s is the measured GEMM rate
    on the hot shapes; it runs interleaved with the contenders so the same noise hits it.
    """
    rng = np.random.default_rng(0)
    f32 = np.float32
    n_max = max(RNN.count_steps(b) for b in batches)
    W = rng.standard_normal((D_h, D_h)).astype(f32)
    U = rng.standard_normal((V, D_h)).astype(f32)
    H = rng.standard_normal((n_max, D_h)).astype(f32)
    G = rng.standard_normal((n_max, V)).astype(f32)
    # A second operand for dJ/dW_h: NumPy computes `X.T @ X` with SYRK (half the work).
    H2 = rng.standard_normal((n_max, D_h)).astype(f32)
    out_h = np.empty((n_max, D_h), dtype=f32)
    out_theta = np.empty((n_max, V), dtype=f32)
    out_sq = np.empty((D_h, D_h), dtype=f32)
    out_u = np.empty((V, D_h), dtype=f32)
    plans = []
    for seqs in batches:
        lengths = [len(s) + 1 for s in seqs]
        n_active = [sum(1 for length in lengths if length > t) for t in range(max(lengths))]
        plans.append((len(seqs), sum(lengths), [0, *itertools.accumulate(n_active)]))

    def step(i: int) -> None:
        B, N, offs = plans[i]
        for t in range(1, len(offs) - 1):  # forward: W_h h(t-1) for the names still running
            n_t = offs[t + 1] - offs[t]
            np.matmul(H[offs[t - 1] : offs[t - 1] + n_t], W, out=out_h[:n_t])
        for t in range(len(offs) - 2, 0, -1):  # backward: W_h^T (gamma o sigma') to step t-1
            np.matmul(H[offs[t] : offs[t + 1]], W, out=out_h[: offs[t + 1] - offs[t]])
        np.matmul(H[B:N].T, H2[: N - B], out=out_sq)  # dJ/dW_h
        np.matmul(H[:N], U.T, out=out_theta[:N])  # theta = U h
        np.matmul(G[:N].T, H[:N], out=out_u)  # dJ/dU
        np.matmul(G[:N], U, out=out_h[:N])  # U^T dtheta

    return Contender("gemm", "matmuls only (roofline)", "-", step)


def gemm_shape_rates(batches: list[Seqs], V: int, D_h: int) -> list[tuple[str, float]]:
    """Best measured float32 rate (FLOP/s) of each hot GEMM shape alone, for a median-size batch."""
    rng = np.random.default_rng(1)
    f32 = np.float32
    by_size = sorted(batches, key=RNN.count_steps)
    seqs = by_size[len(by_size) // 2]
    B, N = len(seqs), RNN.count_steps(seqs)
    W = rng.standard_normal((D_h, D_h)).astype(f32)
    U = rng.standard_normal((V, D_h)).astype(f32)
    H = rng.standard_normal((N, D_h)).astype(f32)
    G = rng.standard_normal((N, V)).astype(f32)
    H2 = rng.standard_normal((N, D_h)).astype(f32)  # not H: `H.T @ H` would run as SYRK
    o_rec, o_sq = np.empty((B, D_h), dtype=f32), np.empty((D_h, D_h), dtype=f32)
    o_th, o_u, o_dz = np.empty((N, V), f32), np.empty((V, D_h), f32), np.empty((N, D_h), f32)
    shapes = [
        (f"({B}x{D_h}) @ ({D_h}x{D_h})", "recurrence step", 2 * B * D_h * D_h,
         lambda: np.matmul(H[:B], W, out=o_rec)),
        (f"({D_h}x{N - B}) @ ({N - B}x{D_h})", "dJ/dW_h", 2 * D_h * D_h * (N - B),
         lambda: np.matmul(H[B:].T, H2[B:], out=o_sq)),
        (f"({N}x{D_h}) @ ({D_h}x{V})", "theta = U h", 2 * N * D_h * V,
         lambda: np.matmul(H, U.T, out=o_th)),
        (f"({V}x{N}) @ ({N}x{D_h})", "dJ/dU", 2 * N * D_h * V,
         lambda: np.matmul(G.T, H, out=o_u)),
        (f"({N}x{V}) @ ({V}x{D_h})", "U^T dtheta", 2 * N * D_h * V,
         lambda: np.matmul(G, U, out=o_dz)),
    ]  # fmt: skip
    return [(f"{shape:<22}{what:<16}", flops / time_call(fn)) for shape, what, flops, fn in shapes]


# --------------------------------------------------------------------- timing
def thread_report() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed (env vars set to 1 thread)"
    parts = [f"{i['internal_api']} ({i['prefix']}): {i['num_threads']}" for i in threadpool_info()]
    if torch is not None:
        parts.append(f"torch.get_num_threads(): {torch.get_num_threads()}")
    return "; ".join(parts) or "no thread pools loaded"


def run_interleaved(contenders: list[Contender], chars: list[int], rounds: int, chunk_seconds: float) -> None:
    n_batches = len(chars)
    # Warm-up (caches, allocator, lazy initialisation) and sizing of each repetition.
    for c in contenders:
        for i in range(3):
            c.step(i)
        t0 = time.perf_counter()
        done = 0
        while done < 3 or time.perf_counter() - t0 < chunk_seconds:
            c.step(done % n_batches)
            done += 1
        per_batch = (time.perf_counter() - t0) / done
        c.chunk = max(1, min(n_batches, round(chunk_seconds / per_batch)))
    start = 0
    for _ in range(rounds):
        for c in contenders:  # same starting batch for all in a round
            idx = [(start + j) % n_batches for j in range(c.chunk)]
            t0 = time.perf_counter()
            for i in idx:
                c.step(i)
            dt = time.perf_counter() - t0
            c.rates.append(sum(chars[i] for i in idx) / dt)
        start = (start + 7) % n_batches


def paired_ratio(a: Contender, b: Contender) -> tuple[float, float, float]:
    """Median, low and high quartile of the per-round ratio a/b (rounds are interleaved)."""
    r = sorted(x / y for x, y in zip(a.rates, b.rates, strict=True))
    q = statistics.quantiles(r, n=4) if len(r) >= 2 else [r[0], r[0], r[0]]
    return statistics.median(r), q[0], q[2]


def profile_core(c: Contender, n_batches: int, steps: int = 600) -> None:
    """cProfile of the rnn_core step: where its time goes, by function (own time)."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for i in range(steps):
        c.step(i % n_batches)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
    print(f"\nprofile of {steps} rnn_core steps (cProfile, own time per function):")
    text = out.getvalue()
    print(text[text.find("ncalls") :].rstrip() if "ncalls" in text else text.rstrip())


# ----------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--names", help="names file (default: data/dinosaurs.txt, then shared dinos)")
    ap.add_argument("--hidden", type=int, default=100, help="D_h (default 100)")
    ap.add_argument("--batch-size", type=int, default=32, help="names per batch (default 32)")
    ap.add_argument("--batches", type=int, default=64, help="size of the fixed batch list")
    ap.add_argument("--rounds", type=int, default=21, help="interleaved repetitions (default 21)")
    ap.add_argument("--chunk-seconds", type=float, default=0.25, help="length of one repetition")
    ap.add_argument("--no-torch", action="store_true", help="skip the torch contenders")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of rnn_core")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    names, source = load_bench_names(args.names)
    vocab = Vocab.from_names(names)
    V, D_h = vocab.size, args.hidden
    batches = make_batches(names, vocab, args.batches, args.batch_size, args.seed)
    chars = [RNN.count_steps(b) for b in batches]
    use_torch = torch is not None and not args.no_torch

    print("BPTT Lab: rnn_core training throughput against its peers")
    print(f"data: {source} ({len(names)} names), V = {V}, D_h = {D_h}, B = {args.batch_size},")
    print(
        f"      {len(batches)} fixed batches, {sum(chars) / len(batches):.0f} characters per batch"
        f" on average, float32, Adam(lr={LR})"
    )
    print(f"numpy {np.__version__}; torch {torch.__version__ if torch else 'not installed'}")
    print(f"threads: {thread_report()}")
    print(f"rnn_core optimizer: {ADAM_SOURCE}")

    sig = RNN(V, D_h, activation="sigmoid", seed=args.seed, dtype="float32")
    tanh = RNN(V, D_h, activation="tanh", seed=args.seed, dtype="float32")
    prepped = [pack_for_torch(b, V) for b in batches] if use_torch else []

    contenders: list[Contender] = []
    core_sig, _ = rnn_core_contender(sig.copy(), batches, "core_sig", "rnn_core")
    contenders.append(core_sig)
    eager = nnrnn = None
    if use_torch:
        c, eager = torch_eager_contender(sig, prepped)
        contenders.append(c)
        core_tanh, _ = rnn_core_contender(tanh.copy(), batches, "core_tanh", "rnn_core")
        contenders.append(core_tanh)
        c, nnrnn = torch_nn_rnn_contender(tanh, prepped)
        contenders.append(c)
    loop_c, _ = per_name_contender(sig, batches)
    contenders.append(loop_c)
    gemm = gemm_only_contender(batches, V, D_h)
    contenders.append(gemm)

    print("\nsame function, same gradient (first batch, initial weights, float32):")
    for line in check_agreement(sig, tanh, batches[0], prepped[0] if use_torch else None,
                                eager, nnrnn):  # fmt: skip
        print("  " + line)

    run_interleaved(contenders, chars, args.rounds, args.chunk_seconds)

    mean_flops = statistics.fmean(model_flops(b, V, D_h) for b in batches)
    flops_per_char = mean_flops / statistics.fmean(chars)
    by_key = {c.key: c for c in contenders}
    print(
        f"\nthroughput: forward + backward + Adam per batch; median of {args.rounds} interleaved repetitions"
    )
    print(f"  {'contender':<26}{'sigma':<9}{'chars/s':>10}{'  (min .. max)':<22}"
          f"{'ms/batch':>9}{'GFLOP/s':>9}")  # fmt: skip
    for c in contenders:
        med = statistics.median(c.rates)
        ms = statistics.fmean(chars) / med * 1e3
        print(
            f"  {c.label:<26}{c.activation:<9}{med:>10,.0f}  ({min(c.rates):>8,.0f} .."
            f"{max(c.rates):>8,.0f}){ms:>9.2f}{med * flops_per_char / 1e9:>9.2f}"
        )
    print("  (rnn_core packs each batch from its lists of ids inside the timed step; the torch")
    print("   contenders get their index tensors and packed one-hot inputs prepared untimed)")
    if not use_torch:
        print("  torch contenders skipped: torch is not installed (pip install torch==2.13.0)"
              if torch is None else "  torch contenders skipped (--no-torch)")  # fmt: skip

    print("\nratios (median of per-round ratios, [quartiles]):")
    pairs = []
    if use_torch:
        pairs.append(("rnn_core / PyTorch eager autograd (sigmoid)", "core_sig", "torch_eager", 2))
        pairs.append(("rnn_core / torch.nn.RNN (both tanh)", "core_tanh", "torch_rnn", 1.5))
    pairs.append(("rnn_core / per-name NumPy loop (sigmoid)", "core_sig", "loop", 10))
    verdicts = []
    for text, a, b, target in pairs:
        med, lo, hi = paired_ratio(by_key[a], by_key[b])
        ok = "met" if med >= target else "MISSED"
        verdicts.append(ok == "met")
        print(f"  {text:<46}{med:>6.2f}x  [{lo:.2f} .. {hi:.2f}]  target >= {target}x: {ok}")
    if use_torch:
        print("  (torch has no sigmoid RNN: torch.nn.RNN is timed with tanh, against rnn_core with"
              " activation='tanh')")  # fmt: skip
    else:
        print("  torch ratios skipped: torch is not installed")

    print("\nmatmul roofline (float32, one thread):")
    print(f"  FLOPs per character = (6 V D_h N + 6 D_h^2 (N - B)) / N = {flops_per_char:,.0f}")
    print("    forward U h, W_h h(t-1); backward dJ/dU, U^T dtheta, W_h^T dz, dJ/dW_h; 2 per")
    print("    multiply-add; N rows (characters), B names, h(0) = 0 needs no product. Not")
    print("    counted: the input gather, element-wise work, softmax, Adam.")
    for name, rate in gemm_shape_rates(batches, V, D_h):
        print(f"  GEMM alone, best of 5: {name}{rate / 1e9:>7.2f} GFLOP/s")
    gemm_rate = statistics.median(gemm.rates) * flops_per_char
    core_rate = statistics.median(core_sig.rates) * flops_per_char
    print(f"  GEMM rate on the hot shapes (matmuls-only row, interleaved):{gemm_rate / 1e9:>8.2f} GFLOP/s")
    print(f"  rnn_core achieved (sigmoid):                                {core_rate / 1e9:>8.2f} GFLOP/s")
    med, lo, hi = paired_ratio(core_sig, gemm)
    print(f"  fraction of the matmul roofline reached: {med:.0%}  [{lo:.0%} .. {hi:.0%}]")

    if args.profile:
        profile_core(core_sig, len(batches))
    elapsed = time.perf_counter() - t_start
    print(f"\ntargets: {sum(verdicts)} of {len(verdicts)} met; whole run {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
