"""Dagster's batched asset-event writes, switched on in every process that executes our runs.

A range run materialises each asset for every bar it covers: one event per partition per
asset. Dagster buffers such a step's events and hands them to the event storage in one call
when `DAGSTER_EVENT_BATCH_SIZE` is set; dagster-postgres stores a batch of materialisations
as one INSERT instead of one INSERT (and NOTIFY) each. SQLite stores a batch one by one, so
nothing changes there. Events of one step output are written together when the output is
done, so a failing step still leaves its failure (and what finished before it) stored.

Dagster reads the variable whenever it handles an event, in the process writing it: the run
worker (and, with the multiprocess or Celery executor, each step's process). Every one of
them loads the code location (`dgas_pipeline.definitions`), which calls this; so does
`dgas backfill --wait`, which runs in the CLI. The daemon and the webserver write the
planned events of the runs they create (a backfill's, a UI launch's): one batch per run,
which the production event log stores in one INSERT (`dgas_pipeline.event_log_storage`);
they load no code location, so their systemd units set the variable (deploy/systemd).
An operator's own value in the environment wins.
"""

import os

BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
# Larger than the events of any output of a range run (sessions per run x bars per session),
# so a step's materialisations are one batch.
EVENT_BATCH_SIZE = 1000


def batch_event_writes() -> None:
    """Turn on Dagster's batched event writes in this process (and the processes it starts)
    unless the environment already sets them."""
    os.environ.setdefault(BATCH_SIZE_ENV, str(EVENT_BATCH_SIZE))
