"""Alert events as notifications: stable keys, and at most one delivery per channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from dgas_pipeline.alerts.delivery import alert_deliveries, alert_key, alert_messages
from dgas_pipeline.alerts.evaluate import AlertEvent
from dgas_pipeline.alerts.state import ARMED, TRIGGERED
from dgas_pipeline.notify import NotificationSettings, deliver

BAR = datetime(2025, 11, 24, 15, 0, tzinfo=UTC)


def event(
    rule: str = "spy-breakout",
    symbol: str = "SPY",
    state: str = TRIGGERED,
    channels: tuple[str, ...] | None = None,
    at: datetime = BAR,
) -> AlertEvent:
    return AlertEvent(
        rule=rule,
        symbol=symbol,
        bar_start=at,
        bar_end=at + timedelta(minutes=30),
        timeframe="30min",
        state=state,  # type: ignore[arg-type]
        value=402.5,
        channels=channels,
    )


def test_the_key_names_rule_symbol_and_bar_in_utc_whatever_zone_it_came_in() -> None:
    local = event(at=BAR.astimezone(ZoneInfo("America/New_York")))
    assert (
        alert_key(event()) == alert_key(local) == "alert:spy-breakout:SPY:2025-11-24T15:00:00+00:00"
    )


def test_one_message_per_firing_and_none_for_re_arms() -> None:
    messages = alert_messages([event(), event(state=ARMED), event(symbol="QQQ")])
    assert [m.message_key for m in messages] == [
        "alert:spy-breakout:SPY:2025-11-24T15:00:00+00:00",
        "alert:spy-breakout:QQQ:2025-11-24T15:00:00+00:00",
    ]
    first = messages[0]
    assert first.title == "ALERT spy-breakout: SPY @ 402.50 (30min)"
    assert "2025-11-24 10:00 EST" in first.body
    assert first.payload == {
        "kind": "alert",
        "message_key": first.message_key,
        "stale": False,
        "rule": "spy-breakout",
        "symbol": "SPY",
        "timeframe": "30min",
        "bar_start": "2025-11-24T15:00:00+00:00",
        "bar_end": "2025-11-24T15:30:00+00:00",
        "value": 402.5,
    }
    assert first.payload_json()  # valid JSON for webhooks


def test_stale_alerts_are_marked_stale() -> None:
    assert all(m.stale for m in alert_messages([event()], stale=True))


def test_deliveries_go_to_the_channels_a_rule_names() -> None:
    settings = NotificationSettings.model_validate(
        {"channels": [{"name": "console", "url": "console"}, {"name": "quiet", "url": "console"}]}
    )
    groups = alert_deliveries(
        [event(), event(rule="only-quiet", channels=("quiet",)), event(state=ARMED)], settings
    )
    assert [
        ([c.name for c in s.channels], [m.message_key for m in msgs]) for s, msgs in groups
    ] == [
        (["console", "quiet"], ["alert:spy-breakout:SPY:2025-11-24T15:00:00+00:00"]),
        (["quiet"], ["alert:only-quiet:SPY:2025-11-24T15:00:00+00:00"]),
    ]


def test_a_retried_delivery_sends_nothing_twice(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = NotificationSettings()  # the console channel
    messages = alert_messages([event(), event(symbol="QQQ")])

    first = deliver(engine, messages, settings, resolve_secret=lambda name: None)
    again = deliver(
        engine, alert_messages([event(), event(symbol="QQQ")]), settings, lambda n: None
    )

    assert (first.sent, first.skipped) == (2, 0)
    assert (again.sent, again.skipped) == (0, 2)
    assert capsys.readouterr().err.count("ALERT spy-breakout") == 2  # the console is stderr
