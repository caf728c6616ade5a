"""The pipeline's "now".

Production reads the system clock. `DGAS_CLOCK_OFFSET_SECONDS` shifts it, for end-to-end tests
that run the real daemon inside a past session (a future instant would have no partitions
yet); unit tests pin instants with time-machine instead.
"""

import os
from datetime import UTC, datetime, timedelta

CLOCK_OFFSET_ENV = "DGAS_CLOCK_OFFSET_SECONDS"


def clock_now() -> datetime:
    offset = float(os.environ.get(CLOCK_OFFSET_ENV) or 0)
    return datetime.now(UTC) + timedelta(seconds=offset)
