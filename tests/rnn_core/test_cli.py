"""The command line: every subcommand runs, --help works, bad input exits 2 with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rnn_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
NAMES = """aardonyx
abelisaurus
brachiosaurus
baryonyx
camarasaurus
diplodocus
edmontosaurus
gallimimus
iguanodon
kentrosaurus
maiasaura
stegosaurus
triceratops
velociraptor
"""
FAST = ["--hidden-size", "8", "--batch-size", "4", "--eval-every", "5", "--sample-every", "10"]


@pytest.fixture
def names_file(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text(NAMES, encoding="utf-8")
    return path


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["inspect"], ["gradcheck"]])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_train_prints_progress_and_resumes(names_file, tmp_path, capsys):
    ckpt = tmp_path / "run.ckpt"
    argv = ["train", "--names", str(names_file), "--checkpoint", str(ckpt), *FAST]
    code, out, _ = run([*argv, "--steps", "10"], capsys)
    assert code == 0
    assert "step     10 | epoch" in out and "val " in out and "chars/s" in out
    assert "samples at step 10:" in out
    assert ckpt.is_file()
    code, out, _ = run([*argv, "--steps", "15", "--lr", "0.005"], capsys)
    assert code == 0
    assert "resumed" in out and "at step 10" in out and "step     15" in out
    assert "ignoring" in out  # --hidden-size etc. come from the checkpoint

    from rnn_core.checkpoint import load_checkpoint

    saved = load_checkpoint(ckpt)
    assert saved.step == 15 and saved.config.learning_rate == 0.005


def test_the_experiment_flags_come_from_train_config(names_file, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--truncation N" in help_text and "each J(t) reaches back K steps" in help_text
    assert "--w-h-init-norm X" in help_text and "--keep-best BOOL" in help_text
    ckpt = tmp_path / "run.ckpt"
    argv = ["train", "--names", str(names_file), "--checkpoint", str(ckpt), *FAST, "--steps", "6"]
    flags = ["--truncation", "3", "--w-h-init-norm", "0.8", "--keep-best", "false"]
    code, _, err = run([*argv, *flags], capsys)
    assert code == 0, err
    from rnn_core.checkpoint import load_checkpoint

    config = load_checkpoint(ckpt).config
    assert (config.truncation, config.w_h_init_norm, config.keep_best) == (3, 0.8, False)
    ckpt.unlink()
    assert run([*argv, "--truncation", "none"], capsys)[0] == 0
    assert load_checkpoint(ckpt).config.truncation is None


def test_sample_and_inspect_from_a_checkpoint(names_file, tmp_path, capsys):
    ckpt = tmp_path / "run.ckpt"
    assert main(["train", "--names", str(names_file), "--checkpoint", str(ckpt), "--steps", "5",
                 *FAST]) == 0  # fmt: skip
    capsys.readouterr()
    code, out, _ = run(["sample", "--checkpoint", str(ckpt), "-n", "3", "--prefix", "Ba",
                        "--seed", "1"], capsys)  # fmt: skip
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("ba") and "log p/char" in line for line in lines)
    code, out, _ = run(["inspect", "Boo", "--checkpoint", str(ckpt)], capsys)
    assert code == 0
    assert "|gamma_t(t)|" in out and "<start>" in out and "<end>" in out
    assert "t\\k" in out and out.count("\n") >= 2 * 4 + 4  # T = 4: table rows and grid rows


def test_sample_without_checkpoint_trains_a_quick_model(names_file, capsys):
    code, out, err = run(["sample", "--names", str(names_file), "--quick-steps", "3", "-n", "2",
                          "--seed", "0"], capsys)  # fmt: skip
    assert code == 0 and len(out.strip().splitlines()) == 2
    assert "quick model" in err


def test_gradcheck_passes(names_file, capsys):
    code, out, _ = run(["gradcheck", "--names", str(names_file), "--entries", "2"], capsys)
    assert code == 0
    assert "largest relative error" in out and "ok" in out
    for name in ("W_h", "W_x", "b1", "U", "b2"):
        assert f"\n{name} " in out


def test_gradcheck_fails_with_an_impossible_tolerance(names_file, capsys):
    argv = ["gradcheck", "--names", str(names_file), "--entries", "2", "--tolerance", "1e-300"]
    code, out, _ = run(argv, capsys)
    assert code == 1 and "FAILED" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--names", "{bad_names}", "--steps", "1"], "'-'"),
        (["train", "--names", "{missing}", "--steps", "1"], "cannot read"),
        (["train", "--names", "{names}", "--hidden-size", "0"], "hidden_size"),
        (["train", "--names", "{names}", "--truncation", "0", "--steps", "1"], "truncation"),
        (["sample", "--checkpoint", "{junk}"], "not an npz"),
        (["sample", "--checkpoint", "{missing}"], "cannot read"),
        (["inspect", "t-rex", "--names", "{names}", "--quick-steps", "1"], "'-'"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, message, names_file, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("ankylosaurus\nt-rex\n", encoding="utf-8")
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint at all")
    paths = {"bad_names": bad, "missing": tmp_path / "missing", "names": names_file, "junk": junk}
    code, _, err = run([a.format(**paths) for a in argv], capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_divergence_exits_1_with_one_line(names_file, capsys):
    argv = ["train", "--names", str(names_file), *FAST, "--steps", "50", "--optimizer", "sgd",
            "--lr", "10", "--clip-value", "none", "--activation", "relu"]  # fmt: skip
    code, _, err = run(argv, capsys)
    assert code == 1
    assert "diverged" in err and err.count("\n") == 1


def test_module_entry_point(tmp_path):
    """`python -m rnn_core` runs; a bad file gives exit 2 and one line, no traceback."""
    ok = subprocess.run(
        [sys.executable, "-m", "rnn_core", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert ok.returncode == 0 and "train" in ok.stdout and "gradcheck" in ok.stdout
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"\x00" * 64)
    bad = subprocess.run(
        [sys.executable, "-m", "rnn_core", "sample", "--checkpoint", str(junk)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
