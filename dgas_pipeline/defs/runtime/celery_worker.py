"""The Celery app a scale-out worker runs (deploy/README.md, "Scale out").

    celery -A dgas_pipeline.defs.runtime.celery_worker worker --prefetch-multiplier 1

Built from the same config file as the runs (`DGAS_CONFIG`), so the worker listens on the
broker and queue the runs publish to; it runs dagster-celery's step task, which loads the
code location from the run's origin and writes to the run's Dagster instance.
"""

from dgas_pipeline.defs.runtime.executors import celery_worker_app
from dgas_pipeline.location import current_location

app = celery_worker_app(current_location().config.executor)
