"""The page (app/routes/pages.py, templates/page.html): hooks, labels, URL state, weight."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient

from app.web import urlstate

STATIC = Path(__file__).resolve().parents[3] / "static"

#: The data-testid hooks (docs/ARCHITECTURE.md "Test hooks") that belong to the Train and Generate panels.
HOOKS = [
    "train-state",
    "train-loss",
    "val-loss",
    "loss-chart",
    "start-button",
    "pause-button",
    "step-button",
    "reset-button",
    "generate-button",
    "generated-names",
    "live-samples",
]


class Inputs(HTMLParser):
    """Collects the value of every input and the selected option of every select, by id."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("id"):
            self.values[a["id"] or ""] = a.get("value") or ""
        elif tag == "select":
            self._select = a.get("id")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""


def inputs_of(html: str) -> dict[str, str]:
    parser = Inputs()
    parser.feed(html)
    return parser.values


def test_the_page_has_every_hook(client: TestClient) -> None:
    html = client.get("/").text
    for hook in HOOKS:
        assert f'data-testid="{hook}"' in html, hook
    assert 'hx-sse:connect="/fragments/stream?scale=linear"' in html
    assert "/static/vendor/htmx.min.js" in html and "/static/vendor/hx-sse.min.js" in html


def test_quantities_are_labelled_with_their_equations(client: TestClient) -> None:
    html = client.get("/").text
    for number in ("1.1", "1.2", "3.2", "3.3"):
        assert f'href="#eq-{number.replace(".", "-")}"' in html
        assert f'id="eq-{number.replace(".", "-")}"' in html


def test_the_form_shows_the_running_configuration(client: TestClient) -> None:
    values = inputs_of(client.get("/").text)
    assert values["train-hidden_size"] == "16"
    assert values["train-activation"] == "sigmoid"
    assert values["train-dataset"] == "bundled"


def test_the_query_string_restores_the_forms(client: TestClient) -> None:
    query = (
        "/?hidden_size=64&activation=tanh&optimizer=sgd&learning_rate=0.05&clip_value="
        "&g_prefix=ta&g_temperature=0.7&g_count=4&scale=log"
    )
    html = client.get(query).text
    values = inputs_of(html)
    assert values["train-hidden_size"] == "64"
    assert values["train-activation"] == "tanh"
    assert values["train-optimizer"] == "sgd"
    assert values["train-learning_rate"] == "0.05"
    assert values["train-clip_value"] == ""
    assert values["generate-prefix"] == "ta"
    assert values["generate-temperature"] == "0.7"
    assert values["generate-count"] == "4"
    assert 'data-scale="log"' in html


def test_bad_values_in_the_query_string_are_ignored(client: TestClient) -> None:
    html = client.get("/?hidden_size=99999&activation=nope&g_count=-3&scale=cubic").text
    values = inputs_of(html)
    assert values["train-hidden_size"] == "16"
    assert values["train-activation"] == "sigmoid"
    assert values["generate-count"] == "10"
    assert 'data-scale="linear"' in html


def test_first_load_is_compressed_and_under_120_kb(client: TestClient) -> None:
    page = client.get("/")
    assert page.headers["content-encoding"] == "gzip"
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert "/static/app.css" in assets
    sent = page.num_bytes_downloaded
    for path in assets:
        response = client.get(path)
        assert response.status_code == 200, path
        sent += response.num_bytes_downloaded
    assert sent < 120_000, sent


def test_url_state_merges_into_the_current_url() -> None:
    url = urlstate.merged_url("http://x/?scale=log&seed=3", {"seed": "5", "g_prefix": "ab"})
    assert url == "/?scale=log&seed=5&g_prefix=ab"
    assert urlstate.merged_url(None, {}) == "/"
    assert urlstate.train_values({"hidden_size": "0", "seed": "4"}) == {"seed": "4"}
    assert urlstate.gen_values({"g_seed": "", "g_max_length": "99"}) == {"seed": ""}
