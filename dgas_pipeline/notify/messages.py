"""What a notification says: a human text for people, a JSON payload for machines.

Every message carries a stable idempotency key derived only from what it is about, never
from when or by which run it was built, so a retried or re-run cycle rebuilds the same key
and the delivery log (one row per key and channel) stops it from going out twice.

A channel gets many messages at once as one batch (`batch_title`, `batch_text`,
`batch_payload_json`): a cycle that finds forty signals sends one e-mail listing forty, not
forty e-mails. Webhooks: apprise's `json://` / `jsons://` POST `{"version", "title",
"message", "type", "attachments"}`. For those channels `message` is a JSON list (compact
text, sorted keys) of the batch's payloads below, so a receiver does
`json.loads(body["message"])` and gets a list holding every signal field with its type
intact, a batch of one included; other channels (e-mail, chat) get the human text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from dgas_pipeline.analysis.signals import SIGNAL_COLUMNS
from dgas_pipeline.errors import InvalidInput

EXCHANGE_TZ: Final = "America/New_York"

BATCH_SEPARATOR: Final = "\n\n"

SIGNAL_FIELDS: Final = SIGNAL_COLUMNS
"""The signal's own fields (the seed's `generated_signals` minus bookkeeping) sent to hooks."""

_REQUIRED_SIGNAL_FIELDS: Final = (
    "symbol",
    "signal_timestamp",
    "signal_type",
    "trading_timeframe",
    "entry_price",
    "stop_loss",
    "target_price",
    "confidence",
)


@dataclass(frozen=True)
class Message:
    """One notification, the same for every channel; `stale` ones are logged, never sent."""

    message_key: str
    title: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)
    stale: bool = False
    signal_id: int | None = None

    def payload_json(self) -> str:
        """The payload as webhooks receive it in apprise's `message` field."""
        return json.dumps(self.payload, sort_keys=True, separators=(",", ":"), allow_nan=False)


_KIND_NAMES: Final = {"signal": "signals", "alert": "alerts", "eod": "end-of-day summaries"}


def batch_title(messages: Sequence[Message]) -> str:
    """A batch's subject: the message's own title when it holds one, else what and how many."""
    if len(messages) == 1:
        return messages[0].title
    kinds = {m.message_key.partition(":")[0] for m in messages}
    kind = _KIND_NAMES.get(kinds.pop(), "notifications") if len(kinds) == 1 else "notifications"
    return f"DGAS: {len(messages)} {kind}"


def batch_text(messages: Sequence[Message]) -> str:
    """The human text of a batch: each message's title and body, a blank line between."""
    if len(messages) == 1:
        return messages[0].body
    return BATCH_SEPARATOR.join(entry_text(m) for m in messages)


def entry_text(message: Message) -> str:
    """One message as a batch lists it."""
    return f"{message.title}\n{message.body}"


def batch_payload_json(messages: Sequence[Message]) -> str:
    """A batch as webhooks receive it in apprise's `message` field: a JSON list of payloads."""
    return "[" + ",".join(m.payload_json() for m in messages) + "]"


def signal_message(
    signal_row: Mapping[str, Any], *, stale: bool = False, tz: str = EXCHANGE_TZ
) -> Message:
    """A signal's notification; the key is `signal:<symbol>:<UTC ISO time>:<type>:<timeframe>`.

    `signal_row` is a `generated_signals` row or the analysis output that becomes one. The
    time is normalised to UTC, so the same instant gives the same key whatever zone it came
    in; people read it in the exchange's zone.
    """
    for name in _REQUIRED_SIGNAL_FIELDS:
        if signal_row.get(name) is None:
            raise InvalidInput(f"signal_row.{name}", None, "is required to notify a signal")
    at = _aware(signal_row["signal_timestamp"], "signal_row.signal_timestamp")
    symbol, kind, timeframe = (
        str(signal_row["symbol"]),
        str(signal_row["signal_type"]),
        str(signal_row["trading_timeframe"]),
    )
    key = f"signal:{symbol}:{at.isoformat()}:{kind}:{timeframe}"
    fields = {name: signal_row[name] for name in SIGNAL_FIELDS if name in signal_row}
    fields["signal_timestamp"] = at
    payload = _jsonable({"kind": "signal", "message_key": key, "stale": stale, **fields})
    local = at.astimezone(ZoneInfo(tz))
    entry, stop, target = (
        float(signal_row[n]) for n in ("entry_price", "stop_loss", "target_price")
    )
    lines = [
        f"{kind} {symbol} on {timeframe} at {local:%Y-%m-%d %H:%M %Z}",
        f"entry {entry:.2f}  stop {stop:.2f}  target {target:.2f}"
        + _optional(signal_row, "risk_reward_ratio", "  R:R {:.2f}"),
        f"confidence {float(signal_row['confidence']):.2f}"
        + _optional(signal_row, "signal_strength", "  strength {:.2f}")
        + _optional(signal_row, "timeframe_alignment", "  alignment {:.2f}"),
    ]
    if signal_row.get("htf_trend") is not None:
        htf = signal_row.get("htf_timeframe") or "higher timeframe"
        lines.append(f"{htf} trend {signal_row['htf_trend']}")
    if signal_row.get("trading_tf_state"):
        lines.append(f"{timeframe} state {signal_row['trading_tf_state']}")
    return Message(
        message_key=key,
        title=f"{kind} {symbol} @ {entry:.2f} ({timeframe})",
        body="\n".join(lines),
        payload=payload,
        stale=stale,
        signal_id=_optional_int(signal_row.get("id")),
    )


def eod_message(summary: Mapping[str, Any], *, stale: bool = False) -> Message:
    """The end-of-day summary of one session; the key is `eod:<session date>`.

    `summary` needs `date` (the session, a date or `YYYY-MM-DD`); every other entry
    (signals, wins, losses, win_rate, ...) is listed as given, in the order given.
    """
    raw_date = summary.get("date")
    session = _session_date(raw_date)
    key = f"eod:{session.isoformat()}"
    details = {k: v for k, v in summary.items() if k != "date"}
    lines = [f"Session {session.isoformat()}"]
    lines.extend(f"{name}: {_human(value)}" for name, value in details.items())
    payload = _jsonable(
        {"kind": "eod", "message_key": key, "stale": stale, "date": session, **details}
    )
    return Message(
        message_key=key,
        title=f"DGAS end of day {session.isoformat()}",
        body="\n".join(lines),
        payload=payload,
        stale=stale,
    )


def _aware(value: Any, field_name: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(field_name, value, "is not an ISO-8601 timestamp") from None
    if not isinstance(value, datetime):
        raise InvalidInput(field_name, value, "must be a timestamp")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field_name, value, "must be timezone-aware (naive times are ambiguous)")
    utc = value.astimezone(UTC)
    # A plain datetime, whatever came in (pandas Timestamp), so the key's text is stable.
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC
    )


def _session_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise InvalidInput("summary.date", value, "must be the session date, not a timestamp")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput("summary.date", value, "is required as the session date (YYYY-MM-DD)")


def _optional(row: Mapping[str, Any], name: str, template: str) -> str:
    value = row.get(name)
    return template.format(float(value)) if value is not None else ""


def _optional_int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _human(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    plain = _jsonable(value)
    return plain if isinstance(plain, str) else json.dumps(plain, sort_keys=True)


def _jsonable(value: Any) -> Any:
    """Plain JSON types: timestamps as ISO text, NumPy/Decimal numbers as numbers, NaN as null."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if getattr(value, "ndim", 0) >= 1:  # NumPy arrays, e.g. lists read back from Parquet
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    elif hasattr(value, "item") and callable(value.item):  # NumPy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
