"""Loading names (cleaning and refusing bad ones) and the seeded train/validation split."""

from __future__ import annotations

import pytest

from rnn_core.data import NamesError, bundled_names_path, load_names, split_names


def test_cleans_lines():
    lines = ["  Tyrannosaurus\n", "", "   ", "velociraptor", "TYRANNOSAURUS", "abc\r"]
    assert load_names(lines) == ["tyrannosaurus", "velociraptor", "abc"]


def test_reads_a_path_and_bytes(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("Aardonyx\n\nbaryonyx\naardonyx\n", encoding="utf-8")
    assert load_names(path) == ["aardonyx", "baryonyx"]
    assert load_names(str(path)) == ["aardonyx", "baryonyx"]
    assert load_names(path.read_bytes()) == ["aardonyx", "baryonyx"]


@pytest.mark.parametrize("lines", [[], [""], ["  ", "\n"]])
def test_empty_list_is_refused(lines):
    with pytest.raises(NamesError, match="empty"):
        load_names(lines)


def test_bad_character_names_line_and_character():
    with pytest.raises(NamesError, match=r"line 3: .*'t-rex'.*'-'"):
        load_names(["ankylosaurus", "", "T-Rex"])
    with pytest.raises(NamesError, match="'é'"):
        load_names(["diplodocus", "ornithomimé"])
    with pytest.raises(NamesError, match="' '"):
        load_names(["tyrannosaurus rex"])


def test_unreadable_input_is_a_names_error(tmp_path):
    with pytest.raises(NamesError, match="cannot read"):
        load_names(tmp_path / "missing.txt")
    with pytest.raises(NamesError, match="UTF-8"):
        load_names(b"abc\n\xff\xfe\n")
    assert issubclass(NamesError, ValueError)


def test_split_is_deterministic_disjoint_and_complete():
    names = [f"{a}{b}" for a in "abcdefghij" for b in "klmnopqrst"]  # 100 names
    train, val = split_names(names, 0.2, seed=3)
    assert (train, val) == split_names(names, 0.2, seed=3)
    assert len(val) == 20 and len(train) == 80
    assert sorted(train + val) == sorted(names)
    assert split_names(names, 0.2, seed=4)[1] != val
    assert train == [n for n in names if n in set(train)]  # original order kept


def test_split_edge_cases():
    assert split_names(["a", "b"], 0.01, seed=0)[1] != []  # at least one held out
    assert split_names(["a"], 0.5, seed=0) == (["a"], [])  # the training part is never empty
    assert split_names(["a", "b", "c"], 0.0, seed=0) == (["a", "b", "c"], [])
    with pytest.raises(ValueError, match="val_fraction"):
        split_names(["a"], 1.0, seed=0)


def test_bundled_names_load():
    path = bundled_names_path()
    assert path.name == "dinosaurs.txt" and path.is_file()
    names = load_names(path)
    assert len(names) >= 1000
