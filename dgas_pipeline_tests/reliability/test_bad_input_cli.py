"""Bad command-line arguments, as a confused user or an attacker types them: each refused with
exit 2 and one line naming the flag, nothing launched or stored, `dgas status` fine after.

The checks are `bad_input.Scene.refuses` (see its module). Cases here are not the ones of
cli/test_main.py, cli/test_ranges.py or test_bad_input.py `cli-*`: other spellings, other commands.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from dgas_pipeline.market.calendar import calendar_bounds
from dgas_pipeline_tests.automation.conftest import ONE_RULE
from dgas_pipeline_tests.reliability.bad_input import Case, Scene, cases, make_files

FIRST, LAST = calendar_bounds()
AT = "2026-11-20T11:05:00-05:00"  # a past bar: with good arguments run-once would run it
DAY = "2026-11-20"
RULES_FILE = {"rules.yaml": yaml.safe_dump(ONE_RULE)}
DIGITS = "9" * 5000  # beyond what `int()` converts (4,300 digits)
NOT_A_TICKER = "is not a ticker"
TOKEN = "t" * 32  # a token long enough: the API must refuse the address, not the token


def once(*symbols: str) -> tuple[str, ...]:
    return ("run-once", "--at", AT, "--symbols", ",".join(symbols))


def bars(*more: str, symbol: str = "SPY") -> tuple[str, ...]:
    return ("bars", symbol, "--start", DAY, "--end", DAY, *more)


CASES = [*cases("cli", [
    # -- usage: flags, arguments and commands argparse itself refuses ---------------------------
    ("usage-no-command", (), "COMMAND", "is required"),
    ("usage-no-watchlist-command", ("watchlist",), "COMMAND", "see dgas watchlist --help"),
    ("usage-unknown-command", ("watchlist", "delete", "core"), "COMMAND", "invalid choice"),
    ("usage-unknown-flag-carrying-a-secret", ("run-once", "--api-key=hunter2"), "--api-key",
     "is not an option of dgas run-once"),
    ("usage-missing-end", ("backfill", "--start", DAY, "--wait"), "--end", "is required"),
    ("usage-missing-both-dates", ("bars", "SPY"), ("--start", "--end"), "is required"),
    ("usage-one-argument-too-many", ("calendar", DAY, DAY), "ARGUMENT", "one argument too many"),
    # -- run-once --at: an instant the bar can be found for, with its UTC offset ------------------
    ("at-leap-second", ("run-once", "--at", "2016-12-31T23:59:60Z"), "--at", "not an ISO instant"),
    ("at-year-0", ("run-once", "--at", "0000-01-01T00:00:00Z"), "--at", "not an ISO instant"),
    ("at-24-00", ("run-once", "--at", "2026-11-20T24:00:00-05:00"), "--at", "not an ISO instant"),
    ("at-offset-beyond-a-day", ("run-once", "--at", "2026-11-20T11:05:00+25:00"), "--at",
     "not an ISO instant"),
    ("at-fullwidth-digits", ("run-once", "--at", "２０２６-11-20T11:05:00-05:00"), "--at",
     "not an ISO instant"),
    ("at-with-a-zone-name", ("run-once", "--at", "2026-11-20T11:05:00-05:00[America/New_York]"),
     "--at", "not an ISO instant"),
    ("at-empty", ("run-once", "--at="), "--at", "''"),
    ("at-a-date-without-time", ("run-once", "--at", DAY), "--at", "no UTC offset"),
    ("at-a-holiday-before-the-first-partition", ("run-once", "--at", "2025-01-01T12:00:00-05:00"),
     "--at", "before the first partition"),
    ("at-next-summer", ("run-once", "--at", f"{LAST.year}-06-01T12:00:00-04:00"), "--at",
     "future"),
    # -- run-once --symbols: one ASCII rule, checked before case folding --------------------------
    ("symbols-fullwidth-a", once("ＡAPL"), "symbols[0]", NOT_A_TICKER),
    ("symbols-cyrillic-a", once("АAPL"), "symbols[0]", NOT_A_TICKER),
    ("symbols-ff-ligature", once("SPY", "ﬀ"), "symbols[1]", NOT_A_TICKER),
    ("symbols-german-sharp-s", once("ß"), "symbols[0]", NOT_A_TICKER),
    ("symbols-dotless-i", once("ıbm"), "symbols[0]", NOT_A_TICKER),
    ("symbols-zero-width-space", once("AAPL\u200b"), "symbols[0]", NOT_A_TICKER),
    ("symbols-newline-inside", once("AAPL\nMSFT"), "symbols[0]", NOT_A_TICKER),
    ("symbols-an-empty-one", once("AAPL", "", "MSFT"), "symbols[1]", NOT_A_TICKER),
    ("symbols-a-path", once("../etc"), "symbols[0]", NOT_A_TICKER),
    ("symbols-eleven-characters", once("ABCDEFGHIJK"), "symbols[0]", NOT_A_TICKER),
    ("symbols-trailing-dot", once("BRK."), "symbols[0]", NOT_A_TICKER),
    ("symbols-more-than-any-limit", once(*(f"S{i}" for i in range(10_001))), "--symbols",
     "10001 tickers"),
    # -- backfill: dates of the calendar, from partitions_start on --------------------------------
    ("backfill-november-31", ("backfill", "--start", "2026-11-31", "--end", "2026-12-01"),
     "--start", "not a date"),
    ("backfill-february-29-of-2026", ("backfill", "--start", "2026-02-29", "--end", "2026-03-02",
                                      "--wait"), "--start", "not a date"),
    ("backfill-across-the-calendar-end", ("backfill", "--start", (LAST - timedelta(days=3))
                                          .isoformat(), "--end", (LAST + timedelta(days=3))
                                          .isoformat()), "--end", "outside the XNYS calendar"),
    ("backfill-a-plus-sign", ("backfill", "--start", "+2026-11-20", "--end", DAY, "--wait"),
     "--start", "not a date"),
    ("backfill-empty-end", ("backfill", "--start", DAY, "--end="), "--end", "not a date"),
    ("backfill-ending-the-day-before-partitions-start", ("backfill", "--start", "2025-01-02",
                                                         "--end", "2025-01-01"), "--end",
     "before partitions_start"),
    # -- plan: intervals and delays ------------------------------------------------------------
    ("plan-interval-0min", ("plan", "--interval", "0min"), "--interval", "not an interval"),
    ("plan-interval-1e9min", ("plan", "--interval", "1e9min"), "--interval", "not an interval"),
    ("plan-interval-minus-30min", ("plan", "--interval=-30min"), "--interval", "not an interval"),
    ("plan-interval-5000-digits", ("plan", "--interval", DIGITS + "min"), "--interval",
     "longer than a day"),
    ("plan-interval-fullwidth-digits", ("plan", "--interval", "３０min"), "--interval",
     "not an interval"),
    ("plan-interval-fraction", ("plan", "--interval", "1.5h"), "--interval", "not an interval"),
    ("plan-data-delay-arabic-digits", ("plan", "--data-delay", "١٢"), "--data-delay",
     "not a whole number"),
    ("plan-eod-delay-5000-digits", ("plan", "--eod-delay", DIGITS), "--eod-delay", "<= 1440"),
    ("plan-start-november-31", ("plan", "--start", "2026-11-31"), "--start", "not a date"),
    ("plan-thirteen-years-of-1min-bars", ("plan", "--start", FIRST.isoformat(), "--end",
                                          LAST.isoformat(), "--interval", "1min"), "--end",
     "more than the 100,000 one plan lists"),
    ("plan-across-the-calendar-end", ("plan", "--start", (LAST - timedelta(days=3)).isoformat(),
                                      "--end", (LAST + timedelta(days=1)).isoformat()), "--end",
     "outside the XNYS calendar"),
    # -- calendar -------------------------------------------------------------------------------
    ("calendar-february-30", ("calendar", "2026-02-30"), "DATE", "not a date"),
    ("calendar-tomorrow", ("calendar", "tomorrow"), "DATE", "not a date"),
    ("calendar-year-10000", ("calendar", "10000-01-01"), "DATE", "not a date"),
    # -- bars: the symbol, a timeframe of whole bars ---------------------------------------------
    ("bars-timeframe-75min-of-30min", bars("--timeframe", "75min"), "--timeframe",
     "whole multiple of the interval 30min"),
    ("bars-timeframe-0min", bars("--timeframe", "0min"), "--timeframe", "not an interval"),
    ("bars-timeframe-1e9min", bars("--timeframe", "1e9min"), "--timeframe", "not an interval"),
    ("bars-timeframe-minus-30min", bars("--timeframe=-30min"), "--timeframe", "not an interval"),
    ("bars-timeframe-25h", bars("--timeframe", "25h"), "--timeframe", "longer than a day"),
    ("bars-timeframe-5000-digits", bars("--timeframe", DIGITS + "h"), "--timeframe",
     "longer than a day"),
    ("bars-symbol-fullwidth", bars(symbol="ＳPY"), "SYMBOL", NOT_A_TICKER),
    ("bars-symbol-empty", bars(symbol=""), "SYMBOL", NOT_A_TICKER),
    # -- alerts replay -------------------------------------------------------------------------
    ("replay-start-near-the-calendar-first-day",
     ("alerts", "replay", "rules.yaml", "--start", (FIRST + timedelta(days=7)).isoformat(),
      "--end", (FIRST + timedelta(days=60)).isoformat()), "--start", "is too early", RULES_FILE),
    ("replay-start-february-30", ("alerts", "replay", "rules.yaml", "--start", "2026-02-30",
                                  "--end", DAY), "--start", "not a date", RULES_FILE),
    # -- watchlists ------------------------------------------------------------------------------
    ("watchlist-name-with-a-space", ("watchlist", "add", "x y", "--symbols", "SPY"), "name",
     "not a watchlist name"),
    ("watchlist-name-a-path", ("watchlist", "show", "../../etc"), "name", "not a watchlist name"),
    ("watchlist-name-taken", ("watchlist", "add", "core", "--symbols", "QQQ"), "name",
     "already a watchlist"),
    ("watchlist-unknown", ("watchlist", "update", "ghost", "--symbols", "SPY"), "name",
     "not a watchlist"),
    ("watchlist-schedule-24-00", ("watchlist", "add", "late", "--symbols", "SPY", "--schedule",
                                  "24:00"), "schedule", "not a schedule"),
    ("watchlist-schedule-fullwidth", ("watchlist", "add", "w", "--symbols", "SPY", "--schedule",
                                      "１０:00"), "schedule", "not a schedule"),
    ("watchlist-symbol-ligature", ("watchlist", "add", "w", "--symbols", "ﬀ"), "symbols[0]",
     NOT_A_TICKER),
    ("watchlist-version-beyond-32-bits", ("watchlist", "update", "core", "--symbols", "SPY",
                                          "--version", "99999999999999999999"), "--version",
     "from 1 to 2147483647"),
    ("watchlist-version-negative", ("watchlist", "remove", "core", "--version", "-1"),
     "--version", "not a version"),
    # -- api, db ---------------------------------------------------------------------------------
    ("api-port-0", ("api", "--port", "0"), "--port", "not a port"),
    ("api-port-5000-digits", ("api", "--port", DIGITS), "--port", "not a port"),
    ("api-host-not-an-address", ("api", "--host", "999.1.1.1", "--port", "8001"), "--host",
     "not an address to serve on", {}, {"DGAS_API_TOKEN": TOKEN}),
    ("api-host-empty", ("api", "--host=", "--port", "8001"), "--host", "is empty", {},
     {"DGAS_API_TOKEN": TOKEN}),
    ("db-downgrade-a-path", ("db", "downgrade", "../../x"), "REVISION", "is not one of"),
]), *cases("script", [
    # The installed script, in a process of its own: what a shell user sees.
    ("script-plan-interval-5000-digits", ("plan", "--interval", DIGITS + "min"), "--interval",
     "longer than a day"),
    ("script-bars-symbol-fullwidth", ("bars", "ＳPY", "--start", DAY, "--end", DAY), "SYMBOL",
     NOT_A_TICKER),
    ("script-run-once-at-24-00", ("run-once", "--at", "2026-11-20T24:00:00-05:00"), "--at",
     "not an ISO instant"),
])]  # fmt: skip


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES)
def test_a_bad_argument_is_refused_naming_its_flag_and_nothing_changes(
    scene: Scene, case: Case
) -> None:
    make_files(scene.work, case.files)
    scene.refuses(case)
