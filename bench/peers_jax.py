"""The JAX peer: the same model and batches, the whole training step compiled by XLA.

Forward by `jax.lax.scan` over time steps (Eq. 1.1-1.2), the output layer and
the summed cross-entropy (Eq. 2.1-3.3) over all steps at once, the gradient
by `jax.value_and_grad`, Adam written out (the same update as rnn_core's), and
all of it one `jax.jit` function whose parameter and moment buffers are donated
(updated in place). A compiled scan needs fixed shapes, so each batch is padded
to the next multiple of `BUCKET` steps (one compilation per bucket, done in the
warm-up) with a mask: the padded cells cost work but are not counted, and their
loss is masked out. Only the characters of the names are credited, as for every
contender.

XLA's CPU threading is pinned to one thread by `XLA_FLAGS`, which must be set
before JAX is imported: `pin_xla_threads()` does it, and bench_core.py calls it
first thing. JAX is optional (the `bench` extra); without it the row is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

BUCKET = 4  # padded lengths are multiples of this: few compilations, little padding
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def pin_xla_threads() -> None:
    """One XLA CPU thread; a no-op once JAX is imported (then it is too late)."""
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + XLA_ONE_THREAD).strip()


def jax_version() -> str | None:
    """The installed JAX version, or None."""
    try:
        import jax
    except ImportError:
        return None
    return str(jax.__version__)


def pad_batch(seqs: Sequence[Sequence[int]], V: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T_pad, B) inputs, targets and mask of a batch; T_pad is T_max rounded up to BUCKET.

    Inputs: V (the start marker x(1) = 0) then c1..cn; targets: c1..cn then the end
    token 0. Past a name's end the mask is 0 and the cells are filler.
    """
    T_max = max(len(s) for s in seqs) + 1
    T_pad = -(-T_max // BUCKET) * BUCKET
    B = len(seqs)
    x = np.full((T_pad, B), V, dtype=np.int32)
    y = np.zeros((T_pad, B), dtype=np.int32)
    mask = np.zeros((T_pad, B), dtype=np.float32)
    for b, s in enumerate(seqs):
        x[1 : len(s) + 1, b] = s
        y[: len(s), b] = s
        mask[: len(s) + 1, b] = 1.0
    return x, y, mask


def padding_factor(batches: Sequence[Sequence[Sequence[int]]]) -> float:
    """Cells the padded batches compute per real character (>= 1)."""
    real = sum(len(s) + 1 for seqs in batches for s in seqs)
    padded = sum(-(-(max(len(s) for s in seqs) + 1) // BUCKET) * BUCKET * len(seqs) for seqs in batches)
    return padded / real


def jax_contender(
    params: dict[str, np.ndarray], batches: Sequence[Sequence[Sequence[int]]], lr: float,
    betas: tuple[float, float], eps: float,
) -> tuple[Any, Any]:  # fmt: skip
    """(step(i), loss_and_grads(i)) for the jitted JAX model; the data is padded and placed untimed."""
    import jax
    import jax.numpy as jnp

    V, D_h = params["U"].shape
    b1, b2 = betas
    data = [tuple(jax.device_put(a) for a in pad_batch(seqs, V)) for seqs in batches]

    def loss_fn(P: dict[str, Any], x: Any, y: Any, mask: Any) -> Any:
        # W_x x(t) + b1 for one-hot x(t): a gathered row; the last row is the start marker.
        table = jnp.concatenate([P["W_x"].T, jnp.zeros((1, D_h), jnp.float32)]) + P["b1"]
        inputs = table[x]  # (T_pad, B, D_h)

        def unit(h: Any, inp: Any) -> tuple[Any, Any]:
            h = jax.nn.sigmoid(h @ P["W_h"].T + inp)  # Eq. 1.1-1.2
            return h, h

        _, hs = jax.lax.scan(unit, jnp.zeros((x.shape[1], D_h), jnp.float32), inputs)
        theta = hs @ P["U"].T + P["b2"]  # Eq. 2.1, (T_pad, B, V)
        log_y_hat = jax.nn.log_softmax(theta)  # Eq. 3.1
        picked = jnp.take_along_axis(log_y_hat, y[..., None], axis=-1)[..., 0]
        return -(picked * mask).sum()  # Eq. 3.2-3.3 over the real characters only

    @partial(jax.jit, donate_argnums=(0, 1, 2))
    def train_step(P: Any, m: Any, v: Any, t: Any, x: Any, y: Any, mask: Any) -> Any:
        loss, g = jax.value_and_grad(loss_fn)(P, x, y, mask)
        t = t + 1
        m = jax.tree.map(lambda m_, g_: b1 * m_ + (1 - b1) * g_, m, g)
        v = jax.tree.map(lambda v_, g_: b2 * v_ + (1 - b2) * g_ * g_, v, g)
        root = jnp.sqrt(1 - b2**t)
        step = lr * root / (1 - b1**t)
        P = jax.tree.map(lambda p, m_, v_: p - step * m_ / (jnp.sqrt(v_) + eps * root), P, m, v)
        return P, m, v, t, loss

    grad_fn = jax.jit(jax.value_and_grad(loss_fn))
    state: dict[str, Any] = {
        "P": {k: jnp.asarray(np.asarray(p, dtype=np.float32)) for k, p in params.items()},
        "t": jnp.asarray(0.0, jnp.float32),
    }
    state["m"] = jax.tree.map(jnp.zeros_like, state["P"])
    state["v"] = jax.tree.map(jnp.zeros_like, state["P"])
    first = {k: jnp.asarray(np.asarray(p, dtype=np.float32)) for k, p in params.items()}

    def step(i: int) -> None:
        s = state
        s["P"], s["m"], s["v"], s["t"], loss = train_step(s["P"], s["m"], s["v"], s["t"], *data[i])
        loss.block_until_ready()  # JAX dispatches asynchronously: wait for the step to finish

    def loss_and_grads(i: int) -> tuple[float, dict[str, np.ndarray]]:
        """Loss and gradients at the initial weights (for the agreement check)."""
        loss, g = grad_fn(first, *data[i])
        return float(loss), {k: np.asarray(a) for k, a in g.items()}

    shapes: set[tuple[int, ...]] = set()
    for i, (x, _, _) in enumerate(data):  # compile once per padded length, before any timing
        if x.shape not in shapes:
            shapes.add(x.shape)
            step(i)
    return step, loss_and_grads
