"""Optimizers and gradient clipping over dicts of arrays keyed like `model.params`.

Each optimizer holds the live parameter arrays and updates them in place, keeping
its per-parameter state ("slots": velocity, squared-gradient sums, moments) in
dicts with the same keys. `state_dict()` / `load_state_dict()` expose that state
(arrays plus the step counter) so a checkpoint can hold it and a resumed run
continues bit for bit.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

Arrays = Mapping[str, np.ndarray]


class Optimizer(ABC):
    """The common part: parameters, learning rate, step counter, slots and their (de)serialising.

    The update runs over all parameters at once: each slot is one flat array,
    ``slots[slot][key]`` a view of it shaped like ``params[key]``, and a step
    gathers the gradients into one flat array too, computes the update there,
    then writes it back into each live parameter.
    """

    name: ClassVar[str] = ""
    slot_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Arrays, lr: float) -> None:
        self.params = dict(params)  # the live arrays; step() writes into them
        self.lr = _check_lr(lr)
        self.step_count = 0  # updates applied so far (Adam's t)
        dtype = np.result_type(*self.params.values()) if self.params else np.float64
        size = sum(p.size for p in self.params.values())
        self._flat_slots = {slot: np.zeros(size, dtype=dtype) for slot in self.slot_names}
        self.slots: dict[str, dict[str, np.ndarray]] = {
            slot: self._views(flat) for slot, flat in self._flat_slots.items()
        }
        # The gradient and a scratch array, flat, so an update allocates nothing.
        self._grad = np.empty(size, dtype=dtype)
        self._grads = self._views(self._grad)
        self._scratch = np.empty(size, dtype=dtype)
        self._deltas = self._views(self._scratch)

    def _views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """``flat`` cut into one view per parameter, shaped like it, in the order of ``params``."""
        views, start = {}, 0
        for key, p in self.params.items():
            views[key] = flat[start : start + p.size].reshape(p.shape)
            start += p.size
        return views

    def set_learning_rate(self, lr: float) -> None:
        """Change the learning rate from the next step on."""
        self.lr = _check_lr(lr)

    def hyperparameters(self) -> dict[str, float]:
        """The scalar settings besides the learning rate (JSON-ready)."""
        return {}

    def step(self, grads: Arrays) -> None:
        """Apply one update to every parameter, in place, from `grads` (same keys)."""
        if grads.keys() != self.params.keys():
            missing = set(self.params) - set(grads)
            if missing:
                raise KeyError(f"gradients missing for: {', '.join(sorted(missing))}")
        self.step_count += 1
        for key, g in self._grads.items():
            np.copyto(g, grads[key])
        self._update(self._grad, self._scratch)  # the step, for all parameters at once
        for key, param in self.params.items():
            param -= self._deltas[key]

    @abstractmethod
    def _update(self, grad: np.ndarray, delta: np.ndarray) -> None:
        """Update the flat slots from the flat gradient and write the step into ``delta``.

        Every parameter then moves by ``p -= delta``.
        """

    def state_dict(self) -> dict[str, Any]:
        """A copy of the full state: name, learning rate, step, hyperparameters and slot arrays."""
        return {
            "name": self.name,
            "learning_rate": self.lr,
            "step": self.step_count,
            "hyper": self.hyperparameters(),
            "slots": {
                slot: {key: arr.copy() for key, arr in arrays.items()} for slot, arrays in self.slots.items()
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state from `state_dict()`; checks everything before changing anything."""
        if state.get("name") != self.name:
            raise ValueError(f"optimizer state is for {state.get('name')!r}, not {self.name!r}")
        step = state.get("step")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"optimizer step must be a non-negative integer, got {step!r}")
        lr = _check_lr(state.get("learning_rate"))
        hyper = dict(state.get("hyper") or {})
        if set(hyper) != set(self.hyperparameters()):
            raise ValueError(f"optimizer hyperparameters {sorted(hyper)} do not match {self.name}")
        slots = state.get("slots") or {}
        if set(slots) != set(self.slot_names):
            raise ValueError(f"optimizer slots {sorted(slots)} do not match {self.name}")
        for slot in self.slot_names:
            if set(slots[slot]) != set(self.params):
                raise ValueError(f"optimizer slot {slot!r} keys do not match the parameters")
            for key, param in self.params.items():
                arr = np.asarray(slots[slot][key])
                if arr.shape != param.shape:
                    raise ValueError(
                        f"optimizer slot {slot}/{key} has shape {arr.shape}, expected {param.shape}"
                    )
        # Everything checked: now write.
        self.step_count = step
        self.lr = lr
        self._set_hyperparameters(hyper)
        for slot in self.slot_names:
            for key in self.params:
                np.copyto(self.slots[slot][key], slots[slot][key])

    def _set_hyperparameters(self, hyper: Mapping[str, float]) -> None:
        for name, value in hyper.items():
            setattr(self, name, float(value))


class SGD(Optimizer):
    """Stochastic gradient descent with momentum: v = momentum v + g; p -= lr v."""

    name = "sgd"
    slot_names = ("velocity",)

    def __init__(self, params: Arrays, lr: float = 0.1, momentum: float = 0.9) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        super().__init__(params, lr)
        self.momentum = float(momentum)

    def hyperparameters(self) -> dict[str, float]:
        """The momentum coefficient."""
        return {"momentum": self.momentum}

    def _update(self, grad: np.ndarray, delta: np.ndarray) -> None:
        v = self._flat_slots["velocity"]
        v *= self.momentum
        v += grad  # v = momentum v + g
        np.multiply(v, self.lr, out=delta)  # p -= lr v


class Adagrad(Optimizer):
    """Adagrad, as in min-char-rnn: G += g^2; p -= lr g / sqrt(G + eps)."""

    name = "adagrad"
    slot_names = ("sum_sq",)

    def __init__(self, params: Arrays, lr: float = 0.1, eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.eps = float(eps)

    def hyperparameters(self) -> dict[str, float]:
        """The epsilon under the square root."""
        return {"eps": self.eps}

    def _update(self, grad: np.ndarray, delta: np.ndarray) -> None:
        G = self._flat_slots["sum_sq"]
        np.multiply(grad, grad, out=delta)
        G += delta  # G += g^2
        np.add(G, self.eps, out=delta)
        np.sqrt(delta, out=delta)
        np.divide(grad, delta, out=delta)
        delta *= self.lr  # p -= lr g / sqrt(G + eps)


class Adam(Optimizer):
    """Adam with bias correction: p -= (lr / (1 - b1^t)) m / (sqrt(v / (1 - b2^t)) + eps)."""

    name = "adam"
    slot_names = ("m", "v")

    def __init__(
        self,
        params: Arrays,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        for label, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{label} must be in [0, 1), got {beta!r}")
        super().__init__(params, lr)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)

    def hyperparameters(self) -> dict[str, float]:
        """beta1, beta2 and eps."""
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def _update(self, grad: np.ndarray, delta: np.ndarray) -> None:
        m, v = self._flat_slots["m"], self._flat_slots["v"]
        t = self.step_count
        m *= self.beta1
        np.multiply(grad, 1.0 - self.beta1, out=delta)
        m += delta  # m = b1 m + (1 - b1) g
        v *= self.beta2
        np.multiply(grad, grad, out=delta)
        delta *= 1.0 - self.beta2
        v += delta  # v = b2 v + (1 - b2) g^2
        # (lr / (1 - b1^t)) m / (sqrt(v / (1 - b2^t)) + eps), with both corrections moved
        # onto scalars (Kingma & Ba, Sec. 2): lr_t m / (sqrt(v) + eps sqrt(1 - b2^t)).
        root = math.sqrt(1.0 - self.beta2**t)
        np.sqrt(v, out=delta)
        delta += self.eps * root
        np.divide(m, delta, out=delta)
        delta *= self.lr * root / (1.0 - self.beta1**t)


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adagrad, Adam)}


def make_optimizer(name: str, params: Arrays, lr: float, **kw: float) -> Optimizer:
    """Build the optimizer called `name` (sgd | adagrad | adam) over `params`."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        choices = ", ".join(OPTIMIZERS)
        raise ValueError(f"unknown optimizer {name!r}; choose one of {choices}") from None
    return cls(params, lr, **kw)


def clip_by_value(grads: Mapping[str, np.ndarray], c: float) -> Mapping[str, np.ndarray]:
    """Clip every gradient entry into [-c, c], in place; returns `grads`."""
    if not c > 0:
        raise ValueError(f"clip value must be greater than 0, got {c!r}")
    for g in grads.values():
        np.clip(g, -c, c, out=g)
    return grads


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """The L2 norm of all gradients taken as one vector (inf or nan if any entry is)."""
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for g in grads.values():
            flat = g.reshape(-1)
            total += float(np.dot(flat, flat))
    if not math.isfinite(total):
        # float32 squares overflow long before the entries do: recount in float64.
        total = sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())
    return math.sqrt(total)


def clip_by_global_norm(grads: Mapping[str, np.ndarray], max_norm: float) -> float:
    """Scale all gradients in place so their global L2 norm is at most `max_norm`.

    Returns the norm before clipping. Non-finite gradients are left untouched.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be greater than 0, got {max_norm!r}")
    norm = global_norm(grads)
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / norm
        for g in grads.values():
            g *= scale
    return norm


def _check_lr(lr: Any) -> float:
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"learning_rate must be a finite number greater than 0, got {lr!r}")
    return float(lr)


def clip_gradients(
    grads: Mapping[str, np.ndarray], clip_value: float | None, clip_norm: float | None
) -> bool:
    """Clip every entry to [-clip_value, clip_value], then the global norm to clip_norm, in place.

    Either may be None (off). Returns True exactly when clipping changed the gradient:
    some entry lay outside [-c, c], or the global norm (after the value clip) exceeded
    clip_norm.
    """
    changed = False
    if clip_value is not None:
        if not clip_value > 0:
            raise ValueError(f"clip value must be greater than 0, got {clip_value!r}")
        for g in grads.values():
            if g.size and (g.max() > clip_value or g.min() < -clip_value):  # two reads, no write
                np.clip(g, -clip_value, clip_value, out=g)
                changed = True
    if clip_norm is not None:
        norm = clip_by_global_norm(grads, clip_norm)
        changed = changed or (math.isfinite(norm) and norm > clip_norm)
    return changed
