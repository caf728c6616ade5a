"""Fixtures of the analysis tests: realistic multi-symbol bars on real XNYS sessions."""

from __future__ import annotations

import pandas as pd
import pytest

from dgas_pipeline_tests.analysis.synthetic import regime_walk, sessions

SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]


@pytest.fixture(scope="session")
def walk_bars() -> pd.DataFrame:
    """Six symbols, 30-min bars over 2024-02-01..2024-04-30 (a DST switch on 03-10, Good
    Friday closed on 03-29), regime-switching random walks with a fixed seed."""
    return regime_walk(SYMBOLS, sessions("2024-02-01", "2024-04-30"), seed=20240201)


@pytest.fixture(scope="session")
def walk_end(walk_bars: pd.DataFrame) -> pd.Timestamp:
    return walk_bars["session_close"].iloc[-1]
