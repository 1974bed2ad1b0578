"""Training throughput of rnn_core against its peers, measured in one process and one run.

    .venv/bin/python bench/bench_core.py [--hidden 100] [--batch-size 32]

Every contender trains the same model (V = 27, D_h = 100, float32, B = 32 names
per batch, the seed's equations 1.1-3.3) on the same fixed list of batches, one
forward + backward + Adam update per batch, on one core and one thread:

    rnn_core            the product: RNN.loss_and_grads + rnn_core.optim.Adam
    torch eager         the same equations written out step by step with autograd
    JAX jit             the same model as one compiled step: lax.scan, grad, Adam
    torch.nn.RNN        torch's own RNN (tanh: torch has no sigmoid RNN) + Linear
    per-name loop       one name at a time, column vectors, dicts of per-step
                        values, the style of the seed's companion notebooks
    matmuls only        the roofline: just the model's matrix products, same shapes

Repetitions are interleaved (A B C D E A B C D E ...) so that noise from other
work on the machine hits every contender alike; the figures are medians. Then
truncated BPTT against full BPTT: the same rnn_core training step with
truncation K = 1, 3, 10 (each J(t) reaching back K steps), interleaved with the
full step the same way, its cost printed as a ratio to the full step's. Then
a profile of one rnn_core training step, phase by phase (profile_step.py).
Torch and JAX are optional (the `bench` extra); without them their rows are
skipped and said to be.
"""

from __future__ import annotations

import os
import sys

# One core and one thread for everything, before NumPy, torch or JAX is imported: the
# process is pinned to one CPU (threads started later inherit it), every BLAS / OpenMP
# pool to one thread, and XLA's CPU backend to one thread (peers_jax.pin_xla_threads).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
_cpu_flag = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--cpu=")]
PINNED_CPU = int(_cpu_flag[0]) if _cpu_flag else max(os.sched_getaffinity(0))
os.sched_setaffinity(0, {PINNED_CPU})

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # rnn_core, run as a script

import numpy as np  # noqa: E402
import peers_jax  # noqa: E402

peers_jax.pin_xla_threads()

import peers_torch  # noqa: E402
import profile_step  # noqa: E402
import roofline  # noqa: E402
from common import (  # noqa: E402
    BETAS,
    EPS,
    LR,
    Contender,
    Seqs,
    as_trainer_batches,
    load_bench_names,
    make_batches,
    rel_err,
)
from peers_loop import PerNameLoop, per_name_contender  # noqa: E402
from peers_torch import torch  # noqa: E402

from rnn_core import RNN, Vocab  # noqa: E402
from rnn_core.optim import Adam  # noqa: E402

# (label, numerator, denominator, target): rnn_core / peer, the median of the per-round ratios.
TARGETS = (
    ("rnn_core / JAX jit (sigmoid)", "core_sig", "jax", 1.5),
    ("rnn_core / PyTorch eager autograd (sigmoid)", "core_sig", "torch_eager", 3.5),
    ("rnn_core / torch.nn.RNN (both tanh)", "core_tanh", "torch_rnn", 1.5),
    ("rnn_core / per-name NumPy loop (sigmoid)", "core_sig", "loop", 10.0),
    ("rnn_core sigmoid / rnn_core tanh", "core_sig", "core_tanh", 0.9),
    ("rnn_core / matmuls only (roofline fraction)", "core_sig", "gemm", 0.55),
)


#: The truncations timed against full BPTT.
TRUNCATIONS = (1, 3, 10)


def rnn_core_contender(model: RNN, batches: list[Seqs], key: str, truncation: int | None = None) -> Contender:
    """As the trainer does it: the names laid out once (a Corpus), each batch packed from it."""
    opt = Adam(model.params, lr=LR, beta1=BETAS[0], beta2=BETAS[1], eps=EPS)
    picks = as_trainer_batches(batches, model.start_id, model.end_id)

    def step(i: int) -> None:
        _, grads = model.loss_and_grads(picks[i], truncation=truncation)
        opt.step(grads)

    label = "rnn_core" if truncation is None else f"rnn_core, K = {truncation}"
    return Contender(key, label, model.activation, step)


def truncation_report(
    sig: RNN, batches: list[Seqs], chars: list[int], rounds: int, seconds: float
) -> list[str]:
    """Truncated BPTT's training step against the full one, interleaved, as cost ratios."""
    full = rnn_core_contender(sig.copy(), batches, "full")
    cut = [rnn_core_contender(sig.copy(), batches, f"K{K}", truncation=K) for K in TRUNCATIONS]
    run_interleaved([full, *cut], chars, rounds, seconds)
    mean_T = statistics.fmean(max(len(s) for s in b) + 1 for b in batches)
    lines = [
        "truncated BPTT against full BPTT (rnn_core, sigmoid; forward + backward + Adam;"
        f" T_max {mean_T:.1f} on average):",
        f"  {'':<22}{'chars/s':>10}{'ms/batch':>10}   cost / full BPTT [quartiles]",
    ]
    for c in (full, *cut):
        med = statistics.median(c.rates)
        row = f"  {c.label:<22}{med:>10,.0f}{statistics.fmean(chars) / med * 1e3:>10.2f}"
        if c is not full:
            ratio, lo, hi = paired_ratio(full, c)  # full / truncated throughput = cost ratio
            row += f"   {ratio:>5.2f}x  [{lo:.2f} .. {hi:.2f}]"
        lines.append(row)
    lines.append("  (K = 1 needs no backward loop; K > 1 carries K - 1 gammas per name through it,")
    lines.append(
        "   K - 1 times the products of Eq. 6.2: truncation changes the gradient here; it saves no work)"
    )
    return lines


def check_agreement(
    sig: RNN, tanh: RNN, batch: Seqs, peers: dict[str, object], jax_grads: object
) -> list[str]:
    """Every contender computes the same loss and gradient as rnn_core before any training."""
    ref_loss, ref = sig.loss_and_grads(batch)
    rows = []
    loop = PerNameLoop(sig)
    loss, g = loop.loss_and_grads(batch)
    rows.append(("per-name loop ", "sigmoid", loss, loop.as_core_grads(g), ref_loss, ref))
    if "eager" in peers:
        loss, g = peers_torch.eager_loss_and_grads(peers["eager"], peers["prepped0"])
        rows.append(("torch eager   ", "sigmoid", loss, g, ref_loss, ref))
    if jax_grads is not None:
        loss, g = jax_grads(0)
        rows.append(("JAX jit       ", "sigmoid", loss, g, ref_loss, ref))
    if "nnrnn" in peers:
        tanh_loss, tanh_ref = tanh.loss_and_grads(batch)
        loss, g = peers_torch.nn_rnn_loss_and_grads(peers["nnrnn"], peers["prepped0"])
        rows.append(("torch.nn.RNN  ", "tanh", loss, g, tanh_loss, tanh_ref))
    lines = []
    for label, act, loss, g, r_loss, r in rows:
        worst = max(rel_err(g[k], r[k]) for k in r)
        lines.append(
            f"{label} vs rnn_core ({act + '):':<9} loss rel. diff {abs(loss - r_loss) / r_loss:.1e},"
            f" worst gradient rel. diff {worst:.1e}"
        )
    return lines


def thread_report() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed (env vars set to 1 thread)"
    parts = [f"{i['internal_api']} ({i['prefix']}): {i['num_threads']}" for i in threadpool_info()]
    if torch is not None:
        parts.append(f"torch: {torch.get_num_threads()}")
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


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--names", help="names file (default: data/dinosaurs.txt, then shared dinos)")
    ap.add_argument("--hidden", type=int, default=100, help="D_h (default 100)")
    ap.add_argument("--batch-size", type=int, default=32, help="names per batch (default 32)")
    ap.add_argument("--batches", type=int, default=64, help="size of the fixed batch list")
    ap.add_argument("--rounds", type=int, default=21, help="interleaved repetitions (default 21)")
    ap.add_argument("--chunk-seconds", type=float, default=0.25, help="length of one repetition")
    ap.add_argument("--no-torch", action="store_true", help="skip the torch contenders")
    ap.add_argument("--no-jax", action="store_true", help="skip the JAX contender")
    ap.add_argument("--no-profile", action="store_true", help="skip the profile of a training step")
    ap.add_argument("--no-truncation", action="store_true", help="skip truncated BPTT against full")
    ap.add_argument("--cpu", help="the CPU to pin the process to (default: the highest allowed)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    names, source = load_bench_names(args.names)
    vocab = Vocab.from_names(names)
    V, D_h = vocab.size, args.hidden
    batches = make_batches(names, vocab, args.batches, args.batch_size, args.seed)
    chars = [RNN.count_steps(b) for b in batches]
    use_torch = torch is not None and not args.no_torch
    use_jax = peers_jax.jax_version() is not None and not args.no_jax

    print("BPTT Lab: rnn_core training throughput against its peers")
    print(f"data: {source} ({len(names)} names), V = {V}, D_h = {D_h}, B = {args.batch_size},")
    print(
        f"      {len(batches)} fixed batches, {sum(chars) / len(batches):.0f} characters per batch"
        f" on average, float32, Adam(lr={LR})"
    )
    print(
        f"numpy {np.__version__}; torch {torch.__version__ if torch else 'not installed'};"
        f" jax {peers_jax.jax_version() or 'not installed'}"
    )
    print(f"one core: pinned to CPU {PINNED_CPU} (sched_setaffinity; all threads inherit it)")

    sig = RNN(V, D_h, activation="sigmoid", seed=args.seed, dtype="float32")
    tanh = RNN(V, D_h, activation="tanh", seed=args.seed, dtype="float32")
    contenders = [rnn_core_contender(sig.copy(), batches, "core_sig")]
    peers: dict[str, object] = {}
    jax_grads = None
    if use_torch:
        prepped = [peers_torch.pack_for_torch(b, V) for b in batches]
        c, peers["eager"] = peers_torch.torch_eager_contender(sig, prepped)
        contenders.append(c)
        peers["prepped0"] = prepped[0]
    if use_jax:
        jax_step, jax_grads = peers_jax.jax_contender(sig.params, batches, LR, BETAS, EPS)
        contenders.append(Contender("jax", "JAX jit (lax.scan)", "sigmoid", jax_step))
    contenders.append(rnn_core_contender(tanh.copy(), batches, "core_tanh"))
    if use_torch:
        c, peers["nnrnn"] = peers_torch.torch_nn_rnn_contender(tanh, prepped)
        contenders.append(c)
    contenders.append(per_name_contender(sig, batches)[0])
    gemm = roofline.gemm_only_contender(batches, V, D_h)
    contenders.append(gemm)
    print(f"threads: {thread_report()}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")

    print("\nsame function, same gradient (first batch, initial weights, float32):")
    for line in check_agreement(sig, tanh, batches[0], peers, jax_grads):
        print("  " + line)

    run_interleaved(contenders, chars, args.rounds, args.chunk_seconds)

    mean_flops = statistics.fmean(roofline.model_flops(b, V, D_h) for b in batches)
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
    print("  (characters: the names' own, end tokens included, for every contender; JAX's padding")
    if use_jax:
        print(f"   is not counted: it computes {peers_jax.padding_factor(batches):.2f} cells a character.")
    print("   rnn_core packs each batch inside the timed step, from the names laid out once as the")
    print("   trainer does; the peers get their index tensors, padded or packed inputs prepared untimed)")
    if not use_torch:
        print("  torch skipped: " + ("--no-torch" if torch else "not installed (pip install torch==2.13.0)"))
    if not use_jax:
        why = "--no-jax" if peers_jax.jax_version() else "not installed (pip install jax)"
        print(f"  JAX skipped: {why}")

    print("\nratios (median of per-round ratios, [quartiles]):")
    verdicts = []
    for text, a, b, target in TARGETS:
        if a not in by_key or b not in by_key:
            print(f"  {text:<46}  skipped (peer not run)")
            continue
        med, lo, hi = paired_ratio(by_key[a], by_key[b])
        ok = "met" if med >= target else "MISSED"
        verdicts.append(ok == "met")
        if b == "gemm":
            print(f"  {text:<46}{med:>6.0%}   [{lo:.0%} .. {hi:.0%}]  target >= {target:.0%}: {ok}")
        else:
            print(f"  {text:<46}{med:>6.2f}x  [{lo:.2f} .. {hi:.2f}]  target >= {target}x: {ok}")
    print("  (torch has no sigmoid RNN: torch.nn.RNN is timed with tanh, against rnn_core with"
          " activation='tanh')")  # fmt: skip

    print("\nmatmul roofline (float32, one thread):")
    print(f"  FLOPs per character = (6 V D_h N + 6 D_h^2 (N - B)) / N = {flops_per_char:,.0f}")
    print("    forward U h, W_h h(t-1); backward dJ/dU, U^T dtheta, W_h^T dz, dJ/dW_h; 2 per")
    print("    multiply-add; N rows (characters), B names, h(0) = 0 needs no product. Not")
    print("    counted: the input gather, dJ/dW_x, element-wise work, softmax, Adam.")
    for name, rate in roofline.gemm_shape_rates(batches, V, D_h):
        print(f"  GEMM alone, best of 5: {name}{rate / 1e9:>7.2f} GFLOP/s")
    gemm_rate = statistics.median(gemm.rates) * flops_per_char
    core_rate = statistics.median(by_key["core_sig"].rates) * flops_per_char
    print(f"  GEMM rate on the hot shapes (matmuls-only row, interleaved):{gemm_rate / 1e9:>8.2f} GFLOP/s")
    print(f"  rnn_core achieved (sigmoid):                                {core_rate / 1e9:>8.2f} GFLOP/s")
    med, lo, hi = paired_ratio(by_key["core_sig"], gemm)
    print(f"  fraction of the matmul roofline reached: {med:.0%}  [{lo:.0%} .. {hi:.0%}]")

    if not args.no_truncation:
        print()
        print("\n".join(truncation_report(sig, batches, chars, args.rounds, args.chunk_seconds)))

    if not args.no_profile:
        model = sig.copy()
        opt = Adam(model.params, lr=LR, beta1=BETAS[0], beta2=BETAS[1], eps=EPS)
        picks = as_trainer_batches(batches, model.start_id, model.end_id)
        prof = profile_step.profile_step(model, opt, picks)
        print()
        print("\n".join(profile_step.format_profile(prof, "profile of an rnn_core training step (sigmoid)")))
    elapsed = time.perf_counter() - t_start
    print(f"\ntargets: {sum(verdicts)} of {len(verdicts)} met; whole run {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
