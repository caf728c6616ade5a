"""`dgas ui`: Dagster's webserver and daemon (`dagster dev`) on the instance `dgas` uses.

`dagster dev` by itself refuses a DAGSTER_HOME that does not exist yet, and without one it
runs on a temporary instance, deleted on exit, without our dagster.yaml (the run queue, one
pipeline run at a time, run monitoring). So `dgas ui` first prepares what every `dgas`
command prepares (the config and what it names checked, the database probed, the home
created and seeded from the packaged dagster.yaml), then replaces itself with `dagster dev`
on the packaged workspace: the UI is Dagster's own process, with its signals and exit code,
and works the same from a checkout or an installed wheel, whatever ran before it.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path
from typing import NoReturn

WORKSPACE_YAML = "workspace.yaml"
DEV_SUPERSEDED = "Function `dev_command` is superseded"


def prepare_instance(config_path: str | None) -> Path:
    """What the UI's processes will load, checked and set up the way `dgas run-once` does:
    bad input is one clear error here, not a traceback in the UI. Returns DAGSTER_HOME."""
    from dgas_pipeline.config import load_config
    from dgas_pipeline.config_check import check_config
    from dgas_pipeline.dagster_home import (
        check_dagster_home,
        check_dagster_postgres_url,
        ensure_dagster_home,
    )
    from dgas_pipeline.store.engine import check_database, database_in_use

    if config_path:
        # The code server and the daemon read the config through DGAS_CONFIG; absolute, as
        # they may resolve it from another directory.
        os.environ["DGAS_CONFIG"] = str(Path(config_path).resolve())
    config = load_config(config_path)
    check_config(config)
    check_dagster_postgres_url()
    check_dagster_home()
    check_database(database_in_use(config.database_url))
    return ensure_dagster_home()


def serve(host: str, port: int) -> NoReturn:
    """Replace this process with `dagster dev` on the packaged workspace (DAGSTER_HOME and
    DGAS_CONFIG are in the environment it inherits)."""
    with resources.as_file(resources.files("dgas_pipeline").joinpath(WORKSPACE_YAML)) as path:
        # `dagster dev` is what runs the webserver and daemon together on one instance; its
        # notice that a `dg` CLI supersedes it names a tool this project does not install.
        argv = [sys.executable, "-W", f"ignore:{DEV_SUPERSEDED}", "-m", "dagster", "dev"]
        argv += ["-w", str(path)]
        argv += ["--host", host, "--port", str(port)]
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)  # noqa: S606 (our interpreter, an argv we built)
