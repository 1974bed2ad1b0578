"""The command line: `python -m rnn_core train | sample | inspect | gradcheck`.

    train      train on a names file (the bundled dinosaurs by default), printing progress;
               --checkpoint PATH resumes from PATH when it exists and saves to it
    sample     write names with a checkpoint's model (or a quickly trained one)
    inspect    the per-step BPTT table of one name: J(t), |gamma_t(t)|, |gamma(t)|, and the
               T x T grid of |gamma_t(k)|
    gradcheck  analytic gradients against centred finite differences (exit 1 on a mismatch)

Bad input (an unreadable file, a bad character, a corrupt checkpoint, a bad
setting) prints one line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .activations import activation_names
from .checkpoint import CheckpointError, load_checkpoint
from .config import TrainConfig, config_fields
from .data import NamesError, bundled_names_path, load_names
from .events import EvalInfo, SampleInfo, StepInfo
from .gradcheck import DEFAULT_EPS, GRAD_CHECK_TOLERANCE, check_gradients
from .inspect_report import build_report
from .inspect_text import render_inspect
from .model import RNN
from .sampling import sample_with_log_probs
from .trainer import DivergedError, Trainer
from .vocab import Vocab, VocabError

PROG = "python -m rnn_core"
EXIT_BAD_INPUT = 2

#: Settings a resumed run may change; the others come from the checkpoint.
RESUMABLE = ("learning_rate", "max_steps")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (NamesError, CheckpointError, VocabError, ValueError, OSError) as exc:
        print(f"{PROG} {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DivergedError as exc:
        print(f"{PROG} {args.command}: diverged: {_one_line(exc)}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with its four subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="BPTT Lab: a from-scratch NumPy RNN trained on dinosaur names."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a model, printing progress")
    _add_names_arg(train)
    train.add_argument(
        "--checkpoint", type=Path, metavar="PATH", help="resume from this file if it exists; save to it"
    )
    _add_config_args(train)
    train.set_defaults(func=cmd_train)

    smp = sub.add_parser("sample", help="generate names")
    _add_model_args(smp)
    smp.add_argument("-n", type=_positive_int, default=10, metavar="N", help="how many names (default 10)")
    smp.add_argument("--temperature", type=float, default=1.0, metavar="X", help="0 gives the argmax name")
    smp.add_argument("--prefix", default="", metavar="TEXT", help="every name starts with this")
    smp.add_argument("--max-length", type=_positive_int, default=30, metavar="N", help="longest name (30)")
    smp.add_argument("--seed", type=int, default=None, metavar="N", help="seed of the draw")
    smp.set_defaults(func=cmd_sample)

    insp = sub.add_parser("inspect", help="gamma table of one name (BPTT step by step)")
    insp.add_argument("name", help="the name to trace, letters a-z")
    _add_model_args(insp)
    insp.set_defaults(func=cmd_inspect)

    gc = sub.add_parser("gradcheck", help="BPTT gradients against finite differences")
    _add_names_arg(gc)
    gc.add_argument("--hidden-size", type=_positive_int, default=8, metavar="N", help="D_h (default 8)")
    gc.add_argument("--activation", default="sigmoid", choices=activation_names())
    gc.add_argument("--batch", type=_positive_int, default=3, metavar="N", help="names checked (3)")
    gc.add_argument("--entries", type=_positive_int, default=5, metavar="N", help="per parameter (5)")
    gc.add_argument("--eps", type=float, default=DEFAULT_EPS, metavar="X", help="finite-difference step")
    gc.add_argument(
        "--tolerance", type=float, default=GRAD_CHECK_TOLERANCE, metavar="X", help="largest relative error"
    )
    gc.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the model and the draw")
    gc.set_defaults(func=cmd_gradcheck)
    return parser


# ----------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    """Train (or resume) and print a progress line at every evaluation."""
    names = load_names(args.names)
    given = _given_config(args)
    if args.checkpoint is not None and args.checkpoint.exists():
        trainer = Trainer.resume(args.checkpoint, names)
        ignored = sorted(set(given) - set(RESUMABLE))
        if ignored:
            print(f"resuming: ignoring {', '.join(ignored)} (taken from the checkpoint)")
        if "learning_rate" in given:
            trainer.set_learning_rate(given["learning_rate"])
        if "max_steps" in given:
            trainer.config = trainer.config.replace(max_steps=given["max_steps"])
        print(f"resumed {args.checkpoint} at step {trainer.step}, epoch {trainer.epoch}")
    else:
        trainer = Trainer(TrainConfig.from_dict(given), names)
    cfg = trainer.config
    print(
        f"training on {len(trainer.train_names)} names ({len(trainer.val_names)} held out), "
        f"V={trainer.vocab.size}, D_h={cfg.hidden_size}, {cfg.activation}, {cfg.optimizer} "
        f"lr={cfg.learning_rate:g}, batch {cfg.batch_size}, {cfg.dtype}, "
        f"until step {cfg.max_steps}"
    )
    meter = _ProgressMeter()
    trainer.add_callback("on_step_end", meter.on_step_end)
    trainer.add_callback("on_evaluation", meter.on_evaluation)
    trainer.add_callback("on_sample", _print_samples)
    if args.checkpoint is not None:
        trainer.add_callback("on_evaluation", lambda t, _info: t.save(args.checkpoint))
    try:
        trainer.run()
    except KeyboardInterrupt:
        print(f"interrupted at step {trainer.step}")
        if args.checkpoint is not None:
            trainer.save(args.checkpoint)
            print(f"saved {args.checkpoint}")
        return 130
    if trainer.history and "val_loss" not in trainer.history[-1]:
        trainer.evaluate()
    if trainer.holds_best and trainer.best_step != trainer.step:
        print(f"kept the best weights: step {trainer.best_step}, val {trainer.best_val_loss:.4f}")
    if args.checkpoint is not None:
        trainer.save(args.checkpoint)
        print(f"saved {args.checkpoint} at step {trainer.step}")
    return 0


class _ProgressMeter:
    """Averages train loss and speed between evaluations and prints one line per evaluation."""

    def __init__(self) -> None:
        self.loss_sum = self.chars = self.seconds = 0.0

    def on_step_end(self, _trainer: Trainer, info: StepInfo) -> None:
        self.loss_sum += info["train_loss"] * info["chars"]
        self.chars += info["chars"]
        self.seconds += info["seconds"]

    def on_evaluation(self, _trainer: Trainer, info: EvalInfo) -> None:
        train = self.loss_sum / self.chars if self.chars else math.nan
        speed = self.chars / self.seconds if self.seconds else math.nan
        print(
            f"step {info['step']:>6} | epoch {info['epoch']:>4} | train {train:.4f} | "
            f"val {info['val_loss']:.4f} | {speed:,.0f} chars/s",
            flush=True,
        )
        self.loss_sum = self.chars = self.seconds = 0.0


def _print_samples(_trainer: Trainer, info: SampleInfo) -> None:
    print(f"  samples at step {info['step']}: {', '.join(info['names'])}", flush=True)


# ---------------------------------------------------------------------- sample
def cmd_sample(args: argparse.Namespace) -> int:
    """Print sampled names with the model's log-probability per character."""
    model, vocab = _load_model(args)
    drawn = sample_with_log_probs(
        model,
        vocab,
        n=args.n,
        temperature=args.temperature,
        prefix=args.prefix.lower(),
        max_length=args.max_length,
        seed=args.seed,
    )
    width = max(len(s.name) for s in drawn)
    for s in drawn:
        cut = "" if s.ended else "  (cut at max length)"
        print(f"{s.name:<{width}}  log p/char {s.log_prob_per_char:7.3f}{cut}")
    return 0


# --------------------------------------------------------------------- inspect
def cmd_inspect(args: argparse.Namespace) -> int:
    """Print the Inspect view of one name as text: steps, gammas, the table, decay, grad check."""
    name = args.name.strip().lower()
    if name:
        load_names([name])  # refuse a bad character before any model is loaded or trained
    model, vocab = _load_model(args)
    report = build_report(model, vocab, name)
    print(render_inspect(report.trace, vocab, name, report=report))
    return 0


# ------------------------------------------------------------------- gradcheck
def cmd_gradcheck(args: argparse.Namespace) -> int:
    """Check a random float64 model's gradients on a few names; exit 1 above the tolerance."""
    names = load_names(args.names)
    vocab = Vocab.from_names(names)
    rng = np.random.default_rng(args.seed)
    model = RNN(vocab.size, args.hidden_size, args.activation, seed=args.seed, dtype="float64")
    # Random biases keep relu away from its kink at z = 0 (with b1 = 0, z(1) is exactly 0).
    model.b1[...] = rng.normal(0.0, 0.5, model.b1.shape)
    model.b2[...] = rng.normal(0.0, 0.5, model.b2.shape)
    picked = rng.choice(len(names), size=min(args.batch, len(names)), replace=False)
    batch = [names[i] for i in picked]
    entries = check_gradients(model, [vocab.encode(n) for n in batch], args.entries, args.eps, seed=args.seed)
    print(f"gradient check: D_h={args.hidden_size}, {args.activation}, names {', '.join(batch)}")
    print(f"{'param':<6} {'entry':<10} {'analytic':>14} {'numeric':>14} {'rel error':>10}")
    for e in entries:
        index = ",".join(map(str, e.index))
        print(f"{e.param:<6} {index:<10} {e.analytic:>14.6e} {e.numeric:>14.6e} {e.rel_error:>10.2e}")
    worst = max(e.rel_error for e in entries)
    ok = worst <= args.tolerance
    verdict = "ok" if ok else "FAILED"
    print(f"largest relative error {worst:.2e}: {verdict} (tolerance {args.tolerance:g})")
    return 0 if ok else 1


# --------------------------------------------------------------------- helpers
def _add_names_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--names",
        type=Path,
        default=bundled_names_path(),
        metavar="FILE",
        help="names file, one per line (default: the bundled dinosaur names)",
    )


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, metavar="PATH", help="the model to use (a train checkpoint)"
    )
    _add_names_arg(parser)
    parser.add_argument(
        "--quick-steps",
        type=_positive_int,
        metavar="N",
        default=500,
        help="without --checkpoint: train a small model for this many steps first (default 500)",
    )


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    """One --flag per TrainConfig field, its help, choices and default from the field's declaration.

    --steps is max_steps and --lr the learning rate; unset flags keep the defaults.
    """
    for spec in config_fields():
        flags = [f"--{spec.name.replace('_', '-')}"]
        if spec.name == "max_steps":
            flags.insert(0, "--steps")
        if spec.name == "learning_rate":
            flags.append("--lr")
        convert = _optional(_PARSERS[spec.kind]) if spec.optional else _PARSERS[spec.kind]
        choices = spec.bounds.choices
        parser.add_argument(
            *flags,
            dest=spec.name,
            type=convert,
            default=None,
            choices=choices,
            metavar=None if choices else {int: "N", str: "NAME", bool: "BOOL"}.get(spec.kind, "X"),
            help=f"{spec.help} (default {spec.default})",
        )


def _given_config(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields set on the command line ('none' for clipping counts as set)."""
    given: dict[str, Any] = {}
    for spec in config_fields():
        value = getattr(args, spec.name, None)
        if value is _NONE:
            given[spec.name] = None
        elif value is not None:
            given[spec.name] = value
    return given


_NONE = object()  # the parsed value of "--clip-value none", "--truncation none"


def _flag(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if text.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"must be true or false, got {text!r}")


_PARSERS: dict[type, Callable[[str], Any]] = {int: int, float: float, str: str, bool: _flag}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A parser that also reads "none" or "off" (the field switched off)."""

    def parse_or_none(text: str) -> Any:
        if text.strip().lower() in ("none", "off"):
            return _NONE
        return parse(text)

    parse_or_none.__name__ = getattr(parse, "__name__", "value")  # argparse names it in errors
    return parse_or_none


def _load_model(args: argparse.Namespace) -> tuple[RNN, Vocab]:
    """The checkpoint's model, or a small one trained for --quick-steps on --names."""
    if args.checkpoint is not None:
        ckpt = load_checkpoint(args.checkpoint)
        return ckpt.model, ckpt.vocab
    names = load_names(args.names)
    config = TrainConfig(
        hidden_size=64, max_steps=max(args.quick_steps, 1), eval_every=10_000_000, sample_every=10_000_000
    )
    print(
        f"(no --checkpoint: training a quick model for {config.max_steps} steps)",
        file=sys.stderr,
    )
    trainer = Trainer(config, names)
    trainer.run()
    return trainer.model, trainer.vocab


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
