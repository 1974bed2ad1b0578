"""atomic_write_bytes: the whole new file or the old one, never a torn one, and no leftovers."""

from __future__ import annotations

import os
import stat

import pytest

import rnn_core.fileio as fileio
from rnn_core.fileio import atomic_write_bytes


def test_writes_the_bytes_and_creates_the_folder(tmp_path):
    target = tmp_path / "a" / "b" / "file.bin"
    atomic_write_bytes(target, b"hello")
    assert target.read_bytes() == b"hello"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_overwrites_leaving_only_the_target(tmp_path):
    target = tmp_path / "file.bin"
    atomic_write_bytes(str(target), b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["file.bin"]


@pytest.mark.parametrize("step", ["replace", "fsync"])
def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch, step):
    target = tmp_path / "file.bin"
    atomic_write_bytes(target, b"old")

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, step, broken)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.bin"]
