"""schemathesis against /openapi.json of a live server: no 5xx, every answer true to its schema.

The event stream is left out (it never ends). A handful of examples per
operation keeps this under a minute on a small machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from .conftest import LiveServer, make_settings, start_live_server


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server of its own (schemathesis starts, resets and uploads at random)."""
    runs: Path = tmp_path_factory.mktemp("schema-runs")
    live = start_live_server(make_settings(runs))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def api_schema(api_server: LiveServer) -> schemathesis.BaseSchema:
    """The server's OpenAPI schema, without the event stream."""
    return schemathesis.openapi.from_url(api_server.url + "/openapi.json").exclude(
        path="/api/events"
    )


def test_the_api_keeps_its_contract(api_schema: schemathesis.BaseSchema) -> None:
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate()

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
