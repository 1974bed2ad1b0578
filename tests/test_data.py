"""Checks on the shape of the project's own default training set, data/dinosaurs.txt."""

import re
import string
from pathlib import Path

import pytest

DINOSAURS = Path(__file__).resolve().parents[1] / "data" / "dinosaurs.txt"
NAME = re.compile(r"[a-z]+")


@pytest.fixture(scope="module")
def raw() -> str:
    return DINOSAURS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def names(raw: str) -> list[str]:
    return raw.split("\n")[:-1]


def test_file_is_ascii(raw: str) -> None:
    assert raw.isascii()


def test_ends_with_newline(raw: str) -> None:
    assert raw.endswith("\n")
    assert not raw.endswith("\n\n")


def test_at_least_1000_names(names: list[str]) -> None:
    assert len(names) >= 1000


def test_no_empty_lines(names: list[str]) -> None:
    assert all(names), "empty line found"


def test_every_line_is_lowercase_letters(names: list[str]) -> None:
    bad = [name for name in names if not NAME.fullmatch(name)]
    assert bad == []


def test_no_duplicates(names: list[str]) -> None:
    assert len(set(names)) == len(names)


def test_sorted(names: list[str]) -> None:
    assert names == sorted(names)


def test_alphabet_is_exactly_a_to_z(names: list[str]) -> None:
    assert set("".join(names)) == set(string.ascii_lowercase)
