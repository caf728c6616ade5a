"""A fault of the event log's index, injected: the first batch's index transaction fails.

SQLite gives up on a lock held past its busy timeout, a disk fills up, PostgreSQL drops a
connection: the batch's index transaction rolls back after its statements ran. Producing
those for real takes 30 s of a held lock or a full disk, so the failure is raised where it
would surface, as the transaction ends, once.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from dgas_pipeline.event_log_storage import (
    BatchedSqliteEventLogStorage,
    PooledPostgresEventLogStorage,
)

Storage = type[BatchedSqliteEventLogStorage] | type[PooledPostgresEventLogStorage]


def fail_first_batch_index_write(monkeypatch: pytest.MonkeyPatch, storage: Storage) -> list[int]:
    """Make the first index transaction opened while `storage` stores a batch fail as it
    ends; the returned list gets one item per failure injected."""
    real_batch = storage.store_event_batch
    real_index = storage.index_transaction
    in_batch: list[bool] = []
    failed: list[int] = []

    def batch(self: Any, events: Any) -> None:
        in_batch.append(True)
        try:
            real_batch(self, events)
        finally:
            in_batch.pop()

    @contextmanager
    def index(self: Any) -> Iterator[Any]:
        with real_index(self) as conn:
            yield conn
            if in_batch and not failed:  # written, not yet committed: rolled back
                failed.append(1)
                raise OperationalError("COMMIT", {}, Exception("database is locked"))

    monkeypatch.setattr(storage, "store_event_batch", batch)
    monkeypatch.setattr(storage, "index_transaction", index)
    return failed
