"""The Dagster instance the CLI materialises on, and its home directory.

`DAGSTER_HOME` defaults to `./.dagster_home`; any empty directory works because the first
use writes the embedded default `dagster.yaml` (the repo's, one source) into it. Runs started
here show in `dagster dev` pointed at the same home.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from dgas_pipeline.errors import InvalidInput

EMBEDDED_INSTANCE_YAML = Path(__file__).resolve().parent.parent / "dagster.yaml"
POSTGRES_URL_ENV = "DAGSTER_POSTGRES_URL"
_DAGSTER_POSTGRES_DRIVER = "postgresql+psycopg2://"


def ensure_dagster_home() -> Path:
    """Resolve, create and seed DAGSTER_HOME; exported so Dagster and our store agree."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not instance_yaml.exists():
        shutil.copyfile(EMBEDDED_INSTANCE_YAML, instance_yaml)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def check_dagster_postgres_url(env: Mapping[str, str] = os.environ) -> None:
    """Refuse a production instance URL on which Dagster could store no event.

    SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3, where dagster-postgres fails every
    event write (`NOTIFY run_events, $1`), so no run would ever start; the daemon itself says
    nothing useful. The code location (and `dgas`) load this check first, so the mistake shows
    as one clear error in the UI and the CLI instead.
    """
    url = env.get(POSTGRES_URL_ENV, "")
    if url and not url.startswith(_DAGSTER_POSTGRES_DRIVER):
        from dgas_pipeline.store.engine import redact_url  # SQLAlchemy only when it applies

        raise InvalidInput(
            POSTGRES_URL_ENV,
            redact_url(url),
            f"must start with {_DAGSTER_POSTGRES_DRIVER} (dagster-postgres needs psycopg2)",
        )
