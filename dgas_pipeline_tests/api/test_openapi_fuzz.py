"""Schemathesis over `/openapi.json` against the live server: whatever it sends, no 5xx.

Each operation gets valid data (positive mode: must be handled) and data that breaks the
schema (negative mode: must be refused with 4xx), a fixed number of examples each, generated
deterministically with no example database, so the run always stops by itself in seconds.
Operations on one watchlist run twice: with generated names (mostly 404) and against a
watchlist that exists, so their bodies and parameters reach the database.

Uses `as_strategy` with Hypothesis's `@given` rather than `schemathesis.pytest.from_fixture`,
whose lazy loader reads `request.node._nodeid`, gone in pytest 9.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema

from dgas_pipeline.api import create_app
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline_tests.api.conftest import TOKEN, live_server

EXAMPLES = 25
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPERATIONS = [
    ("GET", "/watchlists"),
    ("POST", "/watchlists"),
    ("GET", "/watchlists/{name}"),
    ("PATCH", "/watchlists/{name}"),
    ("DELETE", "/watchlists/{name}"),
    ("POST", "/watchlists/{name}/start"),
    ("POST", "/watchlists/{name}/stop"),
    ("GET", "/status"),
]
EXISTING = {"name": "core", "symbols": ["SPY", "QQQ"], "schedule": "10:00"}
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseSchema]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'dgas.db'}"
    with live_server(create_app(url, TOKEN, config=SchedulerConfig())) as base:
        created = httpx.post(f"{base}/watchlists", json=EXISTING, headers=AUTH, timeout=10)
        assert created.status_code == 201, created.text
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


def test_the_spec_lists_exactly_the_operations_fuzzed_here(api_schema: BaseSchema) -> None:
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(
    ("method", "path", "existing"),
    [(m, p, False) for m, p in OPERATIONS] + [(m, p, True) for m, p in OPERATIONS if "{name}" in p],
)
def test_no_request_gets_a_server_error(
    api_schema: BaseSchema, method: str, path: str, existing: bool, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    fixed = {"name": EXISTING["name"]} if existing else None

    @BOUNDED
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=AUTH, checks=[not_a_server_error], timeout=10)

    check()


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_without_the_token_every_operation_is_401(
    api_schema: BaseSchema, method: str, path: str
) -> None:
    operation = api_schema[path][method]

    @settings(BOUNDED, max_examples=5)
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        response = case.call(timeout=10)
        assert response.status_code == 401, response.text

    check()
