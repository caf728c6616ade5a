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
"""

from collections.abc import Mapping, Sequence
from typing import Any, cast

from dagster._core.events import AssetCheckEvaluationPlanned, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import SqlEventLogStorageTable
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._serdes import ConfigurableClassData, serialize_value
from dagster_postgres import PostgresEventLogStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)

# Connections past the one kept open, while threads of the process write at the same time.
MAX_OVERFLOW = 10
# Reconnect after an hour: a connection the server or a proxy dropped is not kept forever.
POOL_RECYCLE_S = 3600


class PooledPostgresEventLogStorage(PostgresEventLogStorage):
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
        with self.index_transaction() as conn:
            self._store_asset_event_tags(conn, events, ids)
            for event, event_id in last.values():
                self._store_asset_event(conn, event, event_id)


_PLANNED = DagsterEventType.ASSET_MATERIALIZATION_PLANNED
# Stored in bulk: the asset events a run writes per partition. The rest of a batch (check
# plans, failed-to-materialise events) is left to dagster-postgres, as before.
_BULK = frozenset(
    {_PLANNED, DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION}
)
_INSERT_EVENTS = SqlEventLogStorageTable.insert().returning(
    SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
)
