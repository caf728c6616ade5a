"""Messages: stable keys, readable text, and every signal field in the webhook payload."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.notify import eod_message, signal_message
from dgas_pipeline.notify.messages import SIGNAL_FIELDS
from dgas_pipeline_tests.notify.rows import signal_row


def test_signal_key_is_stable_across_time_zones() -> None:
    utc = signal_message(signal_row())
    eastern = datetime(2026, 11, 27, 10, 30, tzinfo=timezone(timedelta(hours=-5)))
    same_instant = signal_message(signal_row(signal_timestamp=eastern))
    assert utc.message_key == "signal:AAPL:2026-11-27T15:30:00+00:00:LONG:30min"
    assert same_instant.message_key == utc.message_key


def test_signal_text_is_for_people_in_exchange_time() -> None:
    message = signal_message(signal_row())
    assert message.title == "LONG AAPL @ 187.42 (30min)"
    assert message.body.splitlines()[0] == "LONG AAPL on 30min at 2026-11-27 10:30 EST"
    assert "stop 185.10" in message.body
    assert "target 192.00" in message.body


def test_signal_payload_carries_every_field_as_json() -> None:
    message = signal_message(signal_row(id=None), stale=True)
    payload = json.loads(message.payload_json())
    assert set(SIGNAL_FIELDS) <= set(payload)
    assert payload["kind"] == "signal"
    assert payload["stale"] is True
    assert payload["signal_timestamp"] == "2026-11-27T15:30:00+00:00"
    assert payload["entry_price"] == 187.42
    assert payload["pattern_context"] == {"patterns": ["PLDOT_PUSH"]}
    assert message.stale is True


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"signal_timestamp": datetime(2026, 11, 27, 15, 30)}, "signal_row.signal_timestamp"),
        ({"symbol": None}, "signal_row.symbol"),
        ({"signal_timestamp": "yesterday"}, "signal_row.signal_timestamp"),
    ],
    ids=["naive-time", "missing-symbol", "not-a-time"],
)
def test_bad_signal_rows_are_rejected(override: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        signal_message(signal_row(**override))
    assert caught.value.field == field


def test_eod_key_and_text() -> None:
    message = eod_message({"date": "2026-11-27", "signals": 4, "wins": 3, "win_rate": 0.75})
    assert message.message_key == "eod:2026-11-27"
    assert message.body.splitlines() == [
        "Session 2026-11-27",
        "signals: 4",
        "wins: 3",
        "win_rate: 0.75",
    ]
    assert json.loads(message.payload_json())["date"] == "2026-11-27"
    assert eod_message({"date": date(2026, 11, 27)}).message_key == message.message_key


@pytest.mark.parametrize("value", [None, "27/11/2026", datetime(2026, 11, 27, tzinfo=UTC)])
def test_eod_needs_a_session_date(value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        eod_message({"date": value})
    assert caught.value.field == "summary.date"
