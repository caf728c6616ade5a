"""The service over each backend: conflicts, start/stop/remove, concurrent edits."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.engine import Engine

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.watchlists import store
from dgas_pipeline.watchlists.errors import VersionConflict, WatchlistExists, WatchlistNotFound
from dgas_pipeline.watchlists.service import WatchlistService

SPY = {"name": "core", "symbols": ["spy", " aapl "]}


def test_duplicate_names_are_refused(service: WatchlistService) -> None:
    service.add(SPY)
    with pytest.raises(WatchlistExists):
        service.add(SPY)


def test_null_fields_in_an_update_mean_leave_as_is(service: WatchlistService) -> None:
    service.add(SPY)
    w = service.update("core", {"version": 1, "symbols": None, "schedule": "10:30"})
    assert (w.symbols, w.schedule, w.version) == (("SPY", "AAPL"), "10:30", 2)


def test_a_clock_given_as_a_function_is_built_only_to_check_a_time_and_once(
    engine: Engine,
) -> None:
    """`dgas watchlist list` must not pay for the exchange clock; the clock it is handed is
    the config's exchange (XLON here, open 08:00-16:30), not a default."""
    built: list[MarketHoursManager] = []

    def build() -> MarketHoursManager:
        built.append(MarketHoursManager("XLON"))
        return built[-1]

    service = WatchlistService(engine, build)
    service.add(SPY)
    service.list_all()
    service.stop("core")
    assert built == []
    service.update("core", {"version": 2, "schedule": "08:15"})  # before NYSE opens
    with pytest.raises(InvalidInput, match=r"^schedule: '16:45' is outside the XLON regular"):
        service.update("core", {"version": 3, "schedule": "16:45"})
    assert len(built) == 1


def test_start_stop_remove(service: WatchlistService) -> None:
    service.add(SPY)
    assert not service.stop("core").enabled
    assert service.start("core").enabled
    assert service.remove("core").name == "core"
    with pytest.raises(WatchlistNotFound):
        service.show("core")
    with pytest.raises(InvalidInput, match=r"^version: 0 must be a whole number"):
        service.remove("core", 0)


def test_two_concurrent_updates_one_wins_the_other_conflicts(
    service: WatchlistService,
) -> None:
    """Both read version 1; both write. Exactly one lands, the other learns it lost."""
    service.add(SPY)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def edit(symbol: str) -> None:
        barrier.wait()
        try:
            outcomes[symbol] = service.update("core", {"version": 1, "symbols": [symbol]})
        except VersionConflict as err:
            outcomes[symbol] = err

    threads = [threading.Thread(target=edit, args=(s,)) for s in ("QQQ", "IWM")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    conflicts = [s for s, o in outcomes.items() if isinstance(o, VersionConflict)]
    winners = [s for s, o in outcomes.items() if not isinstance(o, VersionConflict)]
    assert len(conflicts) == 1
    assert len(winners) == 1
    now = service.show("core")
    assert (now.symbols, now.version) == ((winners[0],), 2)
    loser = outcomes[conflicts[0]]
    assert isinstance(loser, VersionConflict)
    assert loser.current_version == 2
    # Nothing lost: the loser re-reads and re-applies on top of the winner's change.
    retried = service.update("core", {"version": loser.current_version, "symbols": conflicts})
    assert (retried.symbols, retried.version) == ((conflicts[0],), 3)


# -- importing a file's watchlists: one transaction, all or none ------------------------------

TECH = {"name": "tech", "symbols": ["AAPL", "MSFT"]}
OPEN = {"name": "open", "symbols": ["SPY"], "schedule": "09:45", "enabled": False}


def snapshot(service: WatchlistService) -> list[tuple[object, ...]]:
    return [
        (w.name, w.symbols, w.schedule, w.enabled, w.version, w.last_run_id)
        for w in service.list_all()
    ]


def test_import_creates_every_watchlist_of_the_file(service: WatchlistService) -> None:
    done = service.import_all({"watchlists": [TECH, OPEN]})
    assert (done.created, done.replaced) == (["tech", "open"], [])
    assert snapshot(service) == [
        ("open", ("SPY",), "09:45", False, 1, None),
        ("tech", ("AAPL", "MSFT"), "every_bar", True, 1, None),
    ]


def test_a_name_that_exists_fails_the_whole_import(service: WatchlistService) -> None:
    service.add(TECH)
    before = snapshot(service)
    with pytest.raises(InvalidInput) as raised:
        service.import_all({"watchlists": [OPEN, {**TECH, "symbols": ["NVDA"]}]})
    assert raised.value.lines == [
        "watchlists[1].name: 'tech' is already a watchlist (import --replace overwrites it, "
        "or rename it in the file)"
    ]
    assert snapshot(service) == before  # `open`, created first in the transaction, is gone too


def test_replace_overwrites_in_place_keeping_history_and_bumping_the_version(
    service: WatchlistService,
) -> None:
    service.add(TECH)
    with service.engine.begin() as conn:
        store.record_run(conn, "tech", "run-1", "SUCCESS")
    done = service.import_all(
        {"watchlists": [{**TECH, "symbols": ["NVDA"], "enabled": False}, OPEN]}, replace=True
    )
    assert (done.created, done.replaced) == (["open"], ["tech"])
    assert snapshot(service) == [
        ("open", ("SPY",), "09:45", False, 1, None),
        ("tech", ("NVDA",), "every_bar", False, 2, "run-1"),
    ]
