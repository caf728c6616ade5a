"""Polygon.io REST aggregates, fetched as one-minute bars and put onto our session grid.

Why minutes: Polygon buckets hours (and longer minute multiples) from the top of the clock,
and includes pre- and post-market trading, while our bars start at the open (09:30) and are
cut at the close. Asking for one-minute bars and aggregating them here gives exactly the
session grid at any interval; a cycle's window of a few sessions is far below Polygon's
50,000-results page anyway, and `next_url` paging covers longer backfills.

The API key is handed in by the caller (the Dagster layer reads it with `EnvVar`), travels
only in the Authorization header, and is scrubbed from every message we produce, because
those messages end up in run logs and the `prediction_runs.errors` column.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd

from dgas_pipeline.data.grid import BarGrid, window_grid
from dgas_pipeline.data.provider import ProviderError, check_symbol, check_window, empty_raw_frame
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager

log = logging.getLogger(__name__)

PAGE_LIMIT = 50_000
MAX_PAGES = 1_000  # a server that keeps handing out next_url must not keep us forever
ACCEPTED_STATUS = {"OK", "DELAYED"}
_API_KEY_PARAM = re.compile(r"(apiKey=)[^&\s\"')]+", re.IGNORECASE)


class PolygonProvider:
    """Bars from `GET {base}/v2/aggs/ticker/{symbol}/range/1/minute/{from}/{to}`."""

    def __init__(
        self,
        api_key: str,
        market: MarketHoursManager,
        *,
        base_url: str = "https://api.polygon.io",
        timeout_seconds: float = 10,
        max_retries: int = 4,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 30,
        sleep: Callable[[float], None] = time.sleep,
        random_fraction: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
        name: str = "polygon",
    ) -> None:
        if not api_key or not api_key.strip():
            raise InvalidInput("polygon api key", "", "is empty (expected the Polygon API key)")
        self.name = name
        self.market = market
        self.base_url = httpx.URL(base_url.rstrip("/"))
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self._api_key = api_key
        self._sleep = sleep
        self._random = random_fraction
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds),
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "dgas-pipeline"},
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:  # never the key, even in a debugger or a log of the object
        return f"PolygonProvider(base_url={str(self.base_url)!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PolygonProvider:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the provider contract -------------------------------------------------------------

    def fetch(
        self, symbol: str, start: datetime, end: datetime, interval: timedelta | str
    ) -> pd.DataFrame:
        check_symbol(symbol)
        start_ts, end_ts, step = check_window(start, end, interval)
        grid = window_grid(self.market, start_ts, end_ts, step)
        if not len(grid):
            return empty_raw_frame()
        minutes = self.minute_bars(symbol, int(grid.start[0]), int(grid.end[-1]))
        return _onto_grid(minutes, grid, symbol)

    def minute_bars(self, symbol: str, start_ns: int, end_ns: int) -> pd.DataFrame:
        """All pages of one-minute aggregates starting in [start, end): t, o, h, l, c, v."""
        # Polygon's `to` is inclusive.
        from_ms, to_ms = start_ns // 1_000_000, end_ns // 1_000_000 - 1
        url: httpx.URL | None = httpx.URL(
            f"{self.base_url}/v2/aggs/ticker/{quote(symbol, safe='')}"
            f"/range/1/minute/{from_ms}/{to_ms}"
        )
        params: dict[str, str] | None = {
            "adjusted": "true",
            "sort": "asc",
            "limit": str(PAGE_LIMIT),
        }
        pages: list[pd.DataFrame] = []
        seen: set[str] = set()
        while url is not None:
            if str(url) in seen or len(seen) >= MAX_PAGES:
                raise self._error(symbol, f"paging does not end (next_url {url} again)")
            seen.add(str(url))
            body = self._get_json(symbol, url, params)
            pages.append(self._results(symbol, body, url))
            url, params = self._next_page(symbol, body), None
        frame = pd.concat(pages, ignore_index=True)
        frame = frame.sort_values("t", kind="stable").reset_index(drop=True)
        self._check_minutes(symbol, frame)
        return frame

    # -- HTTP with retries -----------------------------------------------------------------

    def _get_json(
        self, symbol: str, url: httpx.URL, params: dict[str, str] | None
    ) -> dict[str, Any]:
        where = f"GET {self._redact(str(url))}"
        for attempt in range(self.max_retries + 1):
            retry_after: float | None = None
            try:
                response = self._client.get(url, params=params)
            except httpx.TimeoutException:
                problem = f"timed out after {self.timeout_seconds:g}s"
            except httpx.TransportError as err:
                problem = f"connection failed ({type(err).__name__}: {err})"
            else:
                code = response.status_code
                if code == 429 or code >= 500:
                    problem = f"HTTP {code} ({_snippet(response)})"
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                elif code >= 300:
                    raise self._error(symbol, f"HTTP {code} from {where}: {_snippet(response)}")
                else:
                    return self._decode(symbol, response, where)
            if attempt == self.max_retries:
                attempts = f"{attempt + 1} attempt{'s' if attempt else ''}"
                raise self._error(symbol, f"{problem} from {where}, gave up after {attempts}")
            delay = self._delay(attempt, retry_after)
            if delay is None:
                raise self._error(
                    symbol,
                    f"{problem} from {where} with Retry-After {retry_after:g}s, longer than "
                    f"backoff_max_seconds {self.backoff_max_seconds:g}s",
                )
            log.warning(
                "%s",
                self._redact(
                    f"{self.name}: {symbol}: {problem} from {where}; retry "
                    f"{attempt + 1}/{self.max_retries} in {delay:.2f}s"
                ),
            )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Full jitter (AWS style), or the server's Retry-After; None when that is too long."""
        if retry_after is not None:
            return retry_after if retry_after <= self.backoff_max_seconds else None
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2**attempt)
        return self._random() * ceiling

    def _decode(self, symbol: str, response: httpx.Response, where: str) -> dict[str, Any]:
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as err:
            raise self._error(symbol, f"malformed JSON from {where}: {err}") from err
        if not isinstance(body, dict):
            raise self._error(symbol, f"malformed response from {where}: not a JSON object")
        status = body.get("status")
        if status is not None and status not in ACCEPTED_STATUS:
            detail = body.get("error") or body.get("message") or ""
            raise self._error(symbol, f"status {status} from {where}: {detail}".rstrip(": "))
        return body

    # -- the response's shape --------------------------------------------------------------

    def _results(self, symbol: str, body: dict[str, Any], url: httpx.URL) -> pd.DataFrame:
        results = body.get("results", [])
        if not isinstance(results, list):
            raise self._error(symbol, f"malformed response from GET {url}: results is not a list")
        try:
            frame = pd.DataFrame.from_records(results, columns=["t", "o", "h", "l", "c", "v"])
            frame["t"] = frame["t"].astype(np.int64)
            for column in "ohlcv":
                frame[column] = frame[column].astype(np.float64)
        except (TypeError, ValueError, KeyError) as err:
            raise self._error(
                symbol, f"malformed result from GET {url} (expected t, o, h, l, c, v): {err}"
            ) from err
        return frame

    def _check_minutes(self, symbol: str, frame: pd.DataFrame) -> None:
        """Minutes are aggregated into bars, where a bad one would vanish (a null close is
        skipped by `last`, a repeated minute counted twice): reject them here, naming one."""
        prices = frame[["o", "h", "l", "c"]]
        checks = [
            (~np.isfinite(frame[list("ohlcv")].to_numpy()).all(axis=1), "is null or not finite"),
            ((prices <= 0).any(axis=1).to_numpy(), "has a price <= 0"),
            (
                (
                    (frame["h"] < frame["l"])
                    | (frame["h"] < prices[["o", "c"]].max(axis=1))
                    | (frame["l"] > prices[["o", "c"]].min(axis=1))
                ).to_numpy(),
                "has high/low not containing open/close",
            ),
            ((frame["v"] < 0).to_numpy(), "has a negative volume"),
            (frame["t"].duplicated(keep=False).to_numpy(), "appears twice"),
        ]
        for bad, what in checks:
            if bad.any():
                row = frame.iloc[int(np.flatnonzero(bad)[0])]
                at = pd.Timestamp(int(row["t"]), unit="ms", tz="UTC").isoformat()
                values = ", ".join(f"{k}={float(row[k]):g}" for k in "ohlcv")
                raise self._error(symbol, f"minute {at} ({values}) {what}")

    def _next_page(self, symbol: str, body: dict[str, Any]) -> httpx.URL | None:
        next_url = body.get("next_url")
        if not next_url:
            return None
        url = httpx.URL(str(next_url))
        # The Authorization header goes wherever we send the request: only to our base.
        if (url.scheme, url.host, url.port) != (
            self.base_url.scheme,
            self.base_url.host,
            self.base_url.port,
        ):
            raise self._error(symbol, f"next_url {url} leaves {self.base_url}; not followed")
        return url

    # -- messages without the key ----------------------------------------------------------

    def _error(self, symbol: str, message: str) -> ProviderError:
        return ProviderError(symbol, self.name, self._redact(message))

    def _redact(self, text: str) -> str:
        text = _API_KEY_PARAM.sub(r"\1***", text)
        return text.replace(self._api_key, "***")


def _onto_grid(minutes: pd.DataFrame, grid: BarGrid, symbol: str) -> pd.DataFrame:
    """Aggregate minute bars into the grid's bars; minutes outside every bar are dropped."""
    t_ns = minutes["t"].to_numpy(dtype=np.int64) * 1_000_000
    bar = np.searchsorted(grid.start, t_ns, side="right") - 1
    inside = (bar >= 0) & (t_ns < grid.end[np.maximum(bar, 0)])
    if not inside.any():
        return empty_raw_frame()
    rows = minutes[inside].assign(bar=bar[inside])
    grouped = rows.groupby("bar", sort=True)
    out = grouped.agg(
        open=("o", "first"),
        high=("h", "max"),
        low=("l", "min"),
        close=("c", "last"),
        volume=("v", "sum"),
    )
    ts = pd.DatetimeIndex(grid.start[out.index.to_numpy()].astype("datetime64[ns]")).tz_localize(
        "UTC"
    )
    return pd.DataFrame({"symbol": symbol, "ts": ts, **{c: out[c].to_numpy() for c in out.columns}})


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "")
