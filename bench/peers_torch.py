"""The PyTorch peers: Eq. 1.1-3.3 written out with autograd, and torch.nn.RNN + Linear.

Torch is optional (the `bench` extra, `pip install torch==2.13.0`); `torch` is
None here without it and bench_core.py skips these rows. Both get their index
tensors and packed one-hot inputs prepared outside the timing.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from common import BETAS, EPS, LR, Contender, Seqs

from rnn_core import RNN

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


def pack_for_torch(seqs: Seqs, V: int) -> dict[str, Any]:
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


def eager_loss_and_grads(eager: dict, prepped0: dict) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of the eager model at its current weights (for the agreement check)."""
    loss = eager["loss_of"](prepped0)
    loss.backward()
    P = eager["params"]
    grads = {k: P[k].grad.numpy().copy() for k in P}
    for t in P.values():
        t.grad = None
    return loss.item(), grads


def nn_rnn_loss_and_grads(nnrnn: dict, prepped0: dict) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of torch.nn.RNN + Linear, keyed like rnn_core's parameters."""
    loss = nnrnn["loss_of"](prepped0)
    loss.backward()
    rnn, out = nnrnn["rnn"], nnrnn["out"]
    got = {
        "W_x": rnn.weight_ih_l0.grad,
        "W_h": rnn.weight_hh_l0.grad,
        "b1": rnn.bias_ih_l0.grad,
        "U": out.weight.grad,
        "b2": out.bias.grad,
    }
    grads = {k: g.numpy().copy() for k, g in got.items()}
    for prm in [*rnn.parameters(), *out.parameters()]:
        prm.grad = None
    return loss.item(), grads
