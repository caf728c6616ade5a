"""The examples at the end of each command's `--help`: what a person types first.

Kept apart from the argument declarations so both stay short; `parser.add_examples`
attaches them, and a test runs every one through the parser.
"""

from __future__ import annotations

# The epilog of each command's --help ("" is `dgas --help`), by command path; a test parses
# every one, so they stay valid as the commands change.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": (
        "dgas calendar 2026-11-27              # the early close after Thanksgiving",
        "dgas plan --start 2026-11-23 --end 2026-11-30 --data-delay 2 --json",
        "dgas run-once --symbols AAPL,MSFT     # one cycle now, no daemon needed",
        "dgas backfill --start 2026-11-16 --end 2026-11-20 --wait",
        "dgas status                           # state, next launch, last runs",
        "dgas config validate dgas.yaml",
    ),
    "plan": (
        "dgas plan                             # today and the next six days",
        "dgas plan --start 2026-11-23 --end 2026-11-30 --data-delay 2 --json",
        "dgas plan --start 2026-11-27 --end 2026-11-27 --interval 15min",
        "dgas plan --start 2026-12-07 --end 2026-12-11 --overrides overrides.yaml",
    ),
    "calendar": (
        "dgas calendar                         # today",
        "dgas calendar 2026-11-26              # closed: Thanksgiving",
        "dgas calendar 2026-11-27 --json       # early close at 13:00 ET",
    ),
    "run-once": (
        "dgas run-once",
        "dgas run-once --at 2026-11-20T15:05:00-05:00 --symbols AAPL,MSFT --json",
    ),
    "bars": (
        "dgas bars AAPL --start 2026-11-20 --end 2026-11-20",
        "dgas bars SPY --start 2026-11-16 --end 2026-11-20 --timeframe 1h --json",
    ),
    "backfill": (
        "dgas backfill --start 2026-11-16 --end 2026-11-20       # the daemon runs it",
        "dgas backfill --start 2026-11-20 --end 2026-11-20 --wait  # runs it here",
    ),
    "status": (
        "dgas status",
        "dgas status --json --config /etc/dgas/dgas.yaml",
    ),
    "ui": (
        "dgas ui                               # http://127.0.0.1:3000, UI and daemon",
        "dgas ui --port 3001 --config /etc/dgas/dgas.yaml",
    ),
    "config": ("dgas config validate",),
    "config validate": (
        "dgas config validate                  # ./dgas.yaml, else the defaults",
        "dgas config validate dgas.example.yaml --json",
    ),
    "watchlist": (
        "dgas watchlist add tech --symbols AAPL,MSFT,NVDA",
        "dgas watchlist list",
    ),
    "watchlist add": (
        "dgas watchlist add tech --symbols AAPL,MSFT,NVDA      # joins every cycle",
        "dgas watchlist add open --symbols SPY,QQQ --schedule 09:45 --disabled",
    ),
    "watchlist list": ("dgas watchlist list", "dgas watchlist list --json"),
    "watchlist show": ("dgas watchlist show tech --json",),
    "watchlist update": (
        "dgas watchlist update tech --symbols AAPL,MSFT",
        "dgas watchlist update tech --schedule 15:30 --version 2",
    ),
    "watchlist start": ("dgas watchlist start tech",),
    "watchlist stop": ("dgas watchlist stop tech",),
    "watchlist remove": ("dgas watchlist remove tech", "dgas watchlist remove tech --version 3"),
    "watchlist import": (
        "dgas watchlist import watchlists.yaml   # all or none; a name taken: error",
        "dgas watchlist import watchlists.json --replace --json",
    ),
    "api": (
        "dgas api                              # 127.0.0.1, no token needed",
        "dgas api --host 0.0.0.0 --port 8080   # needs DGAS_API_TOKEN",
    ),
    "alerts": ("dgas alerts validate alerts.yaml",),
    "alerts validate": (
        "dgas alerts validate alerts.yaml",
        "dgas alerts validate rules.json --json",
    ),
    "alerts schema": ("dgas alerts schema > alert-rules.schema.json",),
    "alerts replay": (
        "dgas alerts replay alerts.yaml --start 2026-11-16 --end 2026-11-20",
        "dgas alerts replay alerts.yaml --start 2026-11-20 --end 2026-11-20 --json",
    ),
    "signals": (
        "dgas signals --date 2026-11-27        # a session's signals and outcomes",
        "dgas signals --symbol AAPL --status WIN --json",
    ),
    "db": ("dgas db upgrade",),
    "db upgrade": ("dgas db upgrade",),
    "db downgrade": ("dgas db downgrade base",),
    "db current": ("dgas db current --json",),
}
