"""Alert events as notifications, delivered through `notify/` at most once per channel.

The message key is `alert:<rule>:<symbol>:<bar start, UTC ISO>`: derived only from what
fired, so a retried run rebuilds the same key and the delivery log drops the repeat. That is
what makes the safe order for the cycle: evaluate, `deliver`, then save the states. A run
that dies after delivering re-evaluates from the old state, finds the same events and sends
nothing twice; saving first would lose alerts on such a crash instead.

A rule may name its channels; `alert_deliveries` groups the messages by the channel set
they go to, each with the settings `deliver` needs for exactly those channels.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any, Final
from zoneinfo import ZoneInfo

from dgas_pipeline.alerts.evaluate import AlertEvent
from dgas_pipeline.alerts.state import TRIGGERED
from dgas_pipeline.notify.messages import EXCHANGE_TZ, Message
from dgas_pipeline.notify.settings import NotificationSettings

KEY_PREFIX: Final = "alert"


def alert_key(event: AlertEvent) -> str:
    return f"{KEY_PREFIX}:{event.rule}:{event.symbol}:{event.bar_start.astimezone(UTC).isoformat()}"


def alert_messages(
    events: Iterable[AlertEvent], *, stale: bool = False, tz: str = EXCHANGE_TZ
) -> list[Message]:
    """One message per firing (re-arms are not notified); `stale` ones are logged, not sent."""
    return [_message(e, stale, tz) for e in events if e.state == TRIGGERED]


def alert_deliveries(
    events: Iterable[AlertEvent], settings: NotificationSettings, *, stale: bool = False
) -> list[tuple[NotificationSettings, list[Message]]]:
    """(settings restricted to a rule's channels, its messages), for `notify.deliver`.

    Events of rules without `channels` go to every configured channel. Channel names were
    checked against the config when the rules were loaded; an unknown one here is skipped.
    """
    groups: dict[tuple[str, ...] | None, list[AlertEvent]] = {}
    for event in events:
        if event.state == TRIGGERED:
            groups.setdefault(event.channels, []).append(event)
    out = []
    for names, grouped in groups.items():
        chosen = settings
        if names is not None:
            channels = [c for c in settings.channels if c.name in names]
            chosen = settings.model_copy(update={"channels": channels})
        out.append((chosen, alert_messages(grouped, stale=stale)))
    return out


def _message(event: AlertEvent, stale: bool, tz: str) -> Message:
    key = alert_key(event)
    local = event.bar_start.astimezone(ZoneInfo(tz))
    value = "" if event.value is None else f" @ {event.value:.2f}"
    payload: dict[str, Any] = {
        "kind": "alert",
        "message_key": key,
        "stale": stale,
        "rule": event.rule,
        "symbol": event.symbol,
        "timeframe": event.timeframe,
        "bar_start": event.bar_start.astimezone(UTC).isoformat(),
        "bar_end": event.bar_end.astimezone(UTC).isoformat(),
        "value": event.value,
    }
    return Message(
        message_key=key,
        title=f"ALERT {event.rule}: {event.symbol}{value} ({event.timeframe})",
        body="\n".join(
            [
                f"{event.rule} fired for {event.symbol} on the {event.timeframe} bar "
                f"starting {local:%Y-%m-%d %H:%M %Z}",
                f"value {event.value:.4f}" if event.value is not None else "value unknown",
            ]
        ),
        payload=payload,
        stale=stale,
    )
