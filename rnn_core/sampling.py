"""Writing names with the model: n names at once, one character per step.

At each step the model's y_hat(t) (Eq. 3.1) is sharpened or flattened by the
temperature, softmax(theta(t) / temperature), and a character is drawn from it;
a temperature of 0 takes the argmax (the greedy name). The log-probability
reported is the model's own (temperature 1): sum_t log y_hat(t)[c_t] = -J,
end token included when the name ended by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import RNN, softmax
from .vocab import Vocab


@dataclass(frozen=True)
class SampledName:
    """A generated name and how likely the model finds it."""

    name: str
    log_prob: float  # natural log of the model's probability of these steps (= -J)
    steps: int  # the steps scored: every character, prefix included, plus the end token if drawn
    ended: bool  # False when max_length cut the name before the model chose to end it

    @property
    def log_prob_per_char(self) -> float:
        """log_prob divided by the steps it covers (minus the nats per character)."""
        return self.log_prob / max(self.steps, 1)


def sample_with_log_probs(
    model: RNN,
    vocab: Vocab,
    n: int = 10,
    temperature: float = 1.0,
    prefix: str = "",
    max_length: int = 30,
    seed: int | None = None,
) -> list[SampledName]:
    """``n`` names drawn from the model, each starting with ``prefix`` and at most ``max_length`` long."""
    if n < 1:
        raise ValueError(f"n must be at least 1 (got {n})")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (got {temperature})")
    if vocab.size != model.vocab_size:
        raise ValueError(f"vocabulary has {vocab.size} characters, the model {model.vocab_size}")
    prefix_ids = vocab.encode(prefix)
    if len(prefix_ids) > max_length:
        raise ValueError(f"prefix is {len(prefix_ids)} characters, longer than max_length {max_length}")
    rng = np.random.default_rng(seed)
    m = model.in_float64()
    cell = m.cell(rows=n)  # the forward pass's own pieces: input gather, unit step, output layer
    written: list[list[int]] = [[] for _ in range(n)]
    log_prob = np.zeros(n)
    steps = np.full(n, len(prefix_ids))
    ended = np.zeros(n, dtype=bool)
    with np.errstate(over="ignore"):  # as in RNN.forward: sigmoid's e^-z may overflow harmlessly
        h = cell.step(cell.inputs(np.full(n, m.start_id)))  # h(1): x(1) = 0 is the start
        for c in prefix_ids:  # the prefix is given, but still scored
            y_hat, _ = softmax(cell.theta(h))  # Eq. 2.1-3.1
            log_prob += np.log(y_hat[:, c])
            h = cell.step(cell.inputs(np.full(n, c)), h)  # Eq. 1.1-1.2 with x(t) = c
        # Rows still writing; a name already max_length long draws nothing more.
        running = np.arange(n) if len(prefix_ids) < max_length else np.arange(0)
        while running.size:
            theta = cell.theta(h[running])  # Eq. 2.1
            y_hat, _ = softmax(theta)  # the model's own probabilities, Eq. 3.1
            if temperature == 0:
                chosen = theta.argmax(axis=1)
            else:
                p, _ = softmax(theta / temperature)
                cdf = np.cumsum(p, axis=1)
                u = rng.random(len(running))[:, None] * cdf[:, -1:]
                chosen = np.minimum((cdf <= u).sum(axis=1), m.vocab_size - 1)
            log_prob[running] += np.log(y_hat[np.arange(len(running)), chosen])
            steps[running] += 1
            stop = chosen == m.end_id
            ended[running[stop]] = True
            for row, c in zip(running[~stop], chosen[~stop], strict=True):
                written[row].append(int(c))
            running, chosen = running[~stop], chosen[~stop]
            full = np.array([len(prefix_ids) + len(written[r]) >= max_length for r in running], bool)
            running, chosen = running[~full], chosen[~full]
            if running.size:
                h[running] = cell.step(cell.inputs(chosen), h[running])  # Eq. 1.1-1.2
    return [
        SampledName(
            name=prefix + vocab.decode(written[i]),
            log_prob=float(log_prob[i]),
            steps=int(steps[i]),
            ended=bool(ended[i]),
        )
        for i in range(n)
    ]


def sample(
    model: RNN,
    vocab: Vocab,
    n: int = 10,
    temperature: float = 1.0,
    prefix: str = "",
    max_length: int = 30,
    seed: int | None = None,
) -> list[str]:
    """``n`` names drawn from the model (see ``sample_with_log_probs``)."""
    drawn = sample_with_log_probs(model, vocab, n, temperature, prefix, max_length, seed)
    return [s.name for s in drawn]


def greedy(model: RNN, vocab: Vocab, prefix: str = "", max_length: int = 30) -> SampledName:
    """The argmax name: the most likely character at every step."""
    return sample_with_log_probs(model, vocab, 1, 0.0, prefix, max_length)[0]


def log_prob(model: RNN, vocab: Vocab, name: str) -> float:
    """log P(name, then the end token) under the model: -J of Eq. 3.3, in float64."""
    return -model.in_float64().loss([vocab.encode(name)])
