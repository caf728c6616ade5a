"""Fixtures of the data tests: the exchange clock and a loopback Polygon server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline_tests.data.fake_polygon import FakePolygon, SleepRecorder


@pytest.fixture(scope="session")
def market() -> MarketHoursManager:
    return MarketHoursManager("XNYS")


@pytest.fixture
def fake_polygon() -> Iterator[FakePolygon]:
    server = FakePolygon()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
