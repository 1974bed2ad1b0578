"""The per-name NumPy loop: one name at a time, in the style of the seed's companion notebooks."""

from __future__ import annotations

import numpy as np
from common import BETAS, EPS, LR, Contender, Seqs

from rnn_core import RNN


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
