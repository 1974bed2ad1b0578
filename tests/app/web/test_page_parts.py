"""Parts of the page that must never contradict the run (templates/page.html, partials/ui.html):
empty sampled or generated names are not blank chips, and the note on the training form names
each setting that differs from the running run's."""

from __future__ import annotations

from app.web import templating, views

from ..inspect.test_views import parse


def name(text: str, ended: bool = True) -> dict[str, object]:
    return {
        "name": text,
        "log_prob": -3.0,
        "log_prob_per_char": -1.0,
        "novel": True,
        "ended": ended,
        "steps": len(text) + 1,
        "p_char": 0.37,
    }


def test_empty_names_are_not_blank_chips() -> None:
    samples = parse(
        views.render(
            "samples",
            {"samples": [{"step": 40, "names": ["", "rex", ""]}], "status": {"config": {"sample_every": 40}}},
        )
    )
    chips = samples.all(lambda n: n.tag == "button")
    assert [c.text() for c in chips] == ["rex"]
    generated = {"names": [name(""), name("ankylo")], "greedy": name(""), "step": 7, "temperature": "1"}
    root = parse(views.render("generated", {"generated": generated}))
    buttons = root.all(lambda n: n.tag == "button")
    assert [b.text() for b in buttons] == ["ankylo"] and all(b.attrs["data-name"] for b in buttons)
    assert len(root.all(lambda n: "empty" in (n.attrs.get("class") or "").split())) == 2
    assert "no letters" in root.text()


def differs(form: dict[str, str]) -> str:
    status = {
        "config": {
            "hidden_size": 16,
            "activation": "sigmoid",
            "optimizer": "adam",
            "batch_size": 16,
            "clip_value": 5.0,
            "seed": 0,
            "learning_rate": 0.01,
        },
        "dataset": {"source": "bundled"},
    }
    ui = templating.env.get_template("partials/ui.html").module
    return str(ui.run_differs(form, status))  # type: ignore[attr-defined]


def test_the_form_says_which_settings_differ_from_the_run() -> None:
    same = {
        "hidden_size": "16",
        "activation": "sigmoid",
        "optimizer": "adam",
        "batch_size": "16",
        "clip_value": "5",
        "seed": "0",
        "dataset": "bundled",
        "learning_rate": "0.3",
    }
    note = parse(differs(same)).one(lambda n: n.attrs.get("id") == "run-differs")
    assert "hidden" in note.attrs  # 5 and 5.0 are the same; the live learning rate never differs
    note = parse(differs({**same, "hidden_size": "64", "dataset": "uploaded", "clip_value": ""}))
    text = note.one(lambda n: n.attrs.get("id") == "run-differs").text()
    assert (
        "hidden size: the form says 64, the run has 16" in text and "dataset: the form says uploaded" in text
    )
    assert "clip value: the form says (empty), the run has 5.0" in text and "Start" in text
