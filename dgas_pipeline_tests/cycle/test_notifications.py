"""A signal is too late to send when its cycle's due time (its bar's end plus the data delay)
is more than `stale_after_minutes` past: the sensor's rule for a live launch, so a cycle the
sensor launched live never has its signals withheld."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.cycle.notifications import is_late_signal

BAR_END = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # the 12:00 ET bar of the early close


@pytest.mark.parametrize(
    ("delay", "after_bar_end", "late"),
    [
        (0, timedelta(minutes=60), False),
        (0, timedelta(minutes=60, microseconds=1), True),
        (2, timedelta(minutes=61), False),  # one minute into stale_after, counted from due
        (2, timedelta(minutes=62), False),
        (2, timedelta(minutes=62, microseconds=1), True),
        (15, timedelta(minutes=74), False),
        (15, timedelta(hours=26), True),  # a catch-up the next day
    ],
)
def test_a_signal_is_late_from_its_cycles_due_time(
    delay: int, after_bar_end: timedelta, late: bool
) -> None:
    settings = SchedulerConfig(data_delay_minutes=delay, stale_after_minutes=60)
    signal_time = pd.Timestamp(BAR_END)  # as the analysis stamps it: its trading bar's end
    assert is_late_signal(signal_time, BAR_END + after_bar_end, settings) is late
