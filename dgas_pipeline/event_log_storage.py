"""Dagster's PostgreSQL event log, keeping one connection open per process.

dagster-postgres opens a new connection for every event it stores (a `NullPool`: no process
holds a connection it does not use) and a second one to index an asset event. A run stores
every event it writes that way: a range run of a session plans each asset for each of its
13 bars, one event each, and connecting costs more than the INSERT (~15 ms against ~1 ms on
a loaded host). Only the webserver holds a connection (`optimize_for_webserver`).

This storage keeps one connection per process open (and opens more only while several
threads write at once, closing them again), as the webserver's does. It also stores a run's
planned events (one per asset and bar, handed over as one batch when Dagster's batched
writes are on) in one INSERT, as dagster-postgres already does for materialisations; the
asset's row then records the last of them, which is what storing them one by one leaves.
A process holds at most that one connection idle: the daemon, the webserver and each run
worker, a handful per deployment. Named in `deploy/dagster.yaml` as the event log storage;
everything else is dagster-postgres's.

It also serialises an asset check's planned event once per run, not once per partition:
Dagster writes one `asset_check_executions` row per partition of the run, each holding the
serialised event, and serialises it anew for each row. The event carries the run's partitions
subset and with it the cycle partitions definition (every excluded tick up to the calendar's
end), so a 130-bar run serialised that definition 130 times per check (~20 ms each, 11 s of
a 77 s run): the rows are the same, the event is serialised once.

`BatchedSqliteEventLogStorage` is the embedded default's (named in `dgas_pipeline/dagster.yaml`):
Dagster's SQLite event log, which stores a batch event by event, each in a transaction of its
own on the run's file and again on the index file (a commit, so an fsync, per event, ~12 per
bar of a range run). It stores a batch in one transaction per file, the same rows, and
serialises a check's planned event once as above.

When the index transaction after a batch's INSERT fails, both storages delete the batch's rows
from the run's events before the error reaches Dagster, which then stores the batch event by
event: the run holds each event once (without that, the fallback stored those rows twice).
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from dagster import Field, StringSource
from dagster._core.events import (
    ASSET_CHECK_EVENTS,
    ASSET_EVENTS,
    BATCH_WRITABLE_EVENTS,
    AssetCheckEvaluationPlanned,
    DagsterEventType,
)
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import SqlEventLogStorageTable
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._core.storage.event_log.sqlite import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData, serialize_value
from dagster_postgres import PostgresEventLogStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)
from sqlalchemy import func, select

# Connections past the one kept open, while threads of the process write at the same time.
MAX_OVERFLOW = 10
# Reconnect after an hour: a connection the server or a proxy dropped is not kept forever.
POOL_RECYCLE_S = 3600


class CheckPlanSerialisedOnce(SqlEventLogStorage):
    """Stores an asset check's planned rows with the event serialised once (module docstring)."""

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        """Dagster's rows (one per partition of the run), the event serialised once."""
        planned = cast("AssetCheckEvaluationPlanned", event.get_dagster_event().event_specific_data)
        subset = planned.partitions_subset
        partition_keys = list(subset.get_partition_keys()) if subset else [None]
        common = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(
                AssetCheckExecutionsTable.insert(),
                [{**common, "partition": key} for key in partition_keys],
            )


class PooledPostgresEventLogStorage(CheckPlanSerialisedOnce, PostgresEventLogStorage):
    """`PostgresEventLogStorage` with a pool of one connection instead of none."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: Any = None,
    ):
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        self._engine.dispose()
        self._engine = create_pg_engine(
            self.postgres_url,
            self._token_provider,
            isolation_level="AUTOCOMMIT",
            pool_size=1,
            max_overflow=MAX_OVERFLOW,
            pool_recycle=POOL_RECYCLE_S,
            pool_pre_ping=True,  # a connection the server closed is replaced, not an error
        )

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "PooledPostgresEventLogStorage":
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        bulk = [e for e in events if e.get_dagster_event().event_type in _BULK]
        others = [e for e in events if e.get_dagster_event().event_type not in _BULK]
        if bulk:
            self._store_asset_events(bulk)
        if others:
            super().store_event_batch(others)

    def _store_asset_events(self, events: Sequence[EventLogEntry]) -> None:
        """Planned events, materialisations and observations of a batch, stored at once.

        One statement executed over all rows (SQLAlchemy compiles it once and sends
        multi-row batches; its ids come back in the rows' order), then each asset's row
        updated once with its last event, which is what storing them one by one leaves.
        """
        rows = [self._event_to_row(event) for event in events]
        with self._connect() as conn:
            ids = [int(row[0]) for row in conn.execute(_INSERT_EVENTS, rows)]
        last = {e.get_dagster_event().asset_key: (e, i) for e, i in zip(events, ids, strict=True)}
        with _taken_back_on_failure(self, events[0].run_id, ids), self.index_transaction() as conn:
            self._store_asset_event_tags(conn, events, ids)
            for event, event_id in last.values():
                self._store_asset_event(conn, event, event_id)


_PLANNED = DagsterEventType.ASSET_MATERIALIZATION_PLANNED
# Stored in bulk: the asset events a run writes per partition. The rest of a batch (check
# plans, failed-to-materialise events) is left to dagster-postgres, as before.
_BULK = frozenset(
    {_PLANNED, DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION}
)
_EVENT_ID = SqlEventLogStorageTable.c.id
_INSERT_EVENTS = SqlEventLogStorageTable.insert().returning(_EVENT_ID, sort_by_parameter_order=True)


class BatchedSqliteEventLogStorage(CheckPlanSerialisedOnce, SqliteEventLogStorage):
    """Dagster's SQLite event log, a batch stored in one transaction per file.

    Configured with the instance's home (`dagster_home: {env: DAGSTER_HOME}`): Dagster takes an
    environment variable as a whole value, and the default instance keeps its event log under
    `history/runs` of the home, where this storage keeps it too (existing homes keep their runs).
    """

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"dagster_home": Field(StringSource, is_required=True)}

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "BatchedSqliteEventLogStorage":
        home = config_value["dagster_home"]
        return cls(os.path.join(home, *SQLITE_EVENT_LOG_UNDER_HOME), inst_data=inst_data)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """The rows `store_event` writes for each event, in one transaction per file.

        The run's file gets all events in one INSERT executed over the rows; the index file
        gets each asset or check event's row, tags and asset row in event order; the checks'
        execution rows follow (they open their own index transaction). A batch of one run and
        of Dagster's batchable events only; anything else is stored as Dagster stores it.
        When the index transaction fails, the batch's rows leave the run's file again before
        the error goes on to Dagster, which stores the batch event by event instead.
        """
        run_ids = {event.run_id for event in events}
        types = {event.dagster_event_type for event in events}
        if len(run_ids) != 1 or not types <= BATCH_WRITABLE_EVENTS:
            super().store_event_batch(events)
            return
        (run_id,) = run_ids
        rows = [self._event_to_row(e) for e in events]
        with self.run_connection(run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
            # One write transaction: the batch's ids are the file's last. (Not RETURNING:
            # SQLite has it from 3.35 on, and Python may be built on an older one.)
            last = int(conn.execute(select(func.max(_EVENT_ID))).scalar_one())
        stored = range(last - len(rows) + 1, last + 1)
        checks: list[tuple[EventLogEntry, int]] = []
        with _taken_back_on_failure(self, run_id, stored), self.index_transaction() as conn:
            for event in events:
                if event.dagster_event_type not in _INDEXED:
                    continue
                result = conn.execute(self.prepare_insert_event(event))
                event_id = int(result.inserted_primary_key[0])
                if event.dagster_event_type in ASSET_EVENTS:
                    self._store_asset_event_tags(conn, [event], [event_id])
                    self._store_asset_event(conn, event, event_id)
                else:
                    checks.append((event, event_id))
        for event, event_id in checks:
            self.store_asset_check_event(event, event_id)


@contextmanager
def _taken_back_on_failure(
    storage: SqlEventLogStorage, run_id: str, event_ids: Sequence[int]
) -> Iterator[None]:
    """Deletes a batch's rows from the run's event table when what follows fails.

    The index transaction after them rolls back (a lock held past the busy timeout, a full
    disk, a dropped connection): nothing of the batch is indexed. Dagster then stores the
    batch again event by event, the run's rows included; without the batch's first rows the
    run holds each event once, as if the batch had never been written.
    """
    try:
        yield
    except BaseException:
        with storage.run_connection(run_id) as conn:
            conn.execute(SqlEventLogStorageTable.delete().where(_EVENT_ID.in_(event_ids)))
        raise


# Mirrored in the SQLite index file by Dagster's `store_event` (of the batchable events).
_INDEXED = frozenset(ASSET_EVENTS | ASSET_CHECK_EVENTS)
# Where Dagster's default instance keeps its SQLite event log, under DAGSTER_HOME.
SQLITE_EVENT_LOG_UNDER_HOME = ("history", "runs")
