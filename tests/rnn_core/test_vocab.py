"""The vocabulary: end token first, strict encoding that names the bad character."""

from __future__ import annotations

import pytest

from rnn_core import RNN, Vocab, VocabError


def test_from_names_sorts_and_puts_end_first():
    vocab = Vocab.from_names(["cab", "ba"])
    assert vocab.chars == ("\n", "a", "b", "c")
    assert vocab.size == 4 and vocab.end == "\n" and vocab.end_id == 0
    assert vocab.encode("cab") == [3, 1, 2]
    assert vocab.decode([3, 1, 2, 0]) == "cab"


def test_bundled_names_give_27(tmp_path):
    from pathlib import Path

    names = (Path(__file__).resolve().parents[2] / "data" / "dinosaurs.txt").read_text().split()
    vocab = Vocab.from_names(names)
    assert vocab.size == 27
    assert RNN(vocab.size, 4).end_id == vocab.end_id == 0


def test_errors_name_the_problem():
    vocab = Vocab.from_names(["abc"])
    with pytest.raises(VocabError, match=r"'z' at position 3"):
        vocab.encode("abz")
    with pytest.raises(VocabError, match="empty"):
        Vocab.from_names([])
    with pytest.raises(VocabError, match="end token"):
        Vocab(("a", "b"))
    with pytest.raises(VocabError, match="sorted"):
        Vocab(("\n", "b", "a"))


def test_model_arguments_are_checked():
    with pytest.raises(ValueError, match="hidden_size"):
        RNN(5, 0)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        RNN(5, 3, activation="swish")
    with pytest.raises(ValueError, match="dtype"):
        RNN(5, 3, dtype="int32")


def test_labels_of_indices_as_tables_show_them():
    vocab = Vocab.from_names(["cab"])
    assert [vocab.label(i) for i in range(vocab.size + 1)] == ["<end>", "a", "b", "c", "<start>"]
    assert vocab.label(RNN(vocab.size, 2).start_id) == "<start>"
