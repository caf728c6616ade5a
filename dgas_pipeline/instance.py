"""The Dagster instance the CLI materialises on, and its home directory.

`DAGSTER_HOME` defaults to `./.dagster_home`; any empty directory works because the first
use writes the embedded default `dagster.yaml` (the repo's, one source) into it. Runs started
here show in `dagster dev` pointed at the same home.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

EMBEDDED_INSTANCE_YAML = Path(__file__).resolve().parent.parent / "dagster.yaml"


def ensure_dagster_home() -> Path:
    """Resolve, create and seed DAGSTER_HOME; exported so Dagster and our store agree."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not instance_yaml.exists():
        shutil.copyfile(EMBEDDED_INSTANCE_YAML, instance_yaml)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
