"""schemathesis against /openapi.json of a live server: no 5xx, every answer true to its schema.

The event stream is left out (it never ends). The uploads and the inspected
name skip one check, "schema-valid data is accepted": a schema cannot say which
bytes make a good checkpoint or names file, nor which letters the model knows,
and refusing the others with 422 is the contract.
A handful of examples per operation keeps this well under a minute.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import LiveServer, make_settings, start_live_server

#: Operations whose valid input depends on more than its schema: the bytes of an upload,
#: or a name whose letters must be in the model's vocabulary.
SEMANTIC: defaultdict[str, list] = defaultdict(list)
for _path in ("/api/checkpoint", "/api/dataset", "/api/inspect"):
    SEMANTIC[_path].append(positive_data_acceptance)


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
    return schemathesis.openapi.from_url(api_server.url + "/openapi.json").exclude(path="/api/events")


def exercise(operation: schemathesis.APIOperation) -> None:
    """A few generated requests to one operation, every response checked."""
    excluded = SEMANTIC[operation.path]

    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(excluded_checks=excluded)

    check()


def test_the_api_keeps_its_contract(api_schema: schemathesis.BaseSchema) -> None:
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        try:
            exercise(operation)
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
