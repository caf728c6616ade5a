"""The Dagster instance the CLI materialises on, and its home directory.

`DAGSTER_HOME` defaults to `./.dagster_home`; any absolute path of an empty directory works
because the first use writes the embedded default `dagster.yaml` into it: package data
(`dgas_pipeline/dagster.yaml`, one source) read with importlib.resources, so an installed
wheel seeds a home as a checkout does. Runs started here show in `dagster dev` pointed at
the same home, which is why a relative path is refused as Dagster refuses it: the two would
otherwise resolve it against different directories.

A home seeded by an earlier release holds that release's default, byte for byte; it is
replaced by the current one (so an existing home gets the batched SQLite event log, which
keeps its runs where Dagster's own did). A file an operator changed is never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.writable import why_not_writable

DAGSTER_HOME_ENV = "DAGSTER_HOME"
INSTANCE_YAML = "dagster.yaml"
POSTGRES_URL_ENV = "DAGSTER_POSTGRES_URL"
_DAGSTER_POSTGRES_DRIVER = "postgresql+psycopg2://"
# SHA-256 of the embedded defaults earlier releases seeded homes with, unchanged by anyone.
EARLIER_DEFAULTS = frozenset(
    {
        "6c285da5ede2edb4b1200b78bfbfd3bb1761cf56c61e0f511a636047b64c2124",
        "93f704135b71582f8e4473877678ed37902864279b5b3aef3b142e12c0bc8c66",
        "6a3ad147a84a27fbb60d446f4c48bc1d1ecf26deab6bc460142efd51b6e7a0ec",
    }
)


def ensure_dagster_home() -> Path:
    """Check, create and seed DAGSTER_HOME; exported so Dagster and our store agree."""
    home = check_dagster_home()
    instance_yaml = home / INSTANCE_YAML
    try:
        home.mkdir(parents=True, exist_ok=True)
        if not instance_yaml.exists():
            seed_instance_yaml(instance_yaml)
        elif hashlib.sha256(instance_yaml.read_bytes()).hexdigest() in EARLIER_DEFAULTS:
            replace_instance_yaml(instance_yaml)
    except OSError as err:  # lost a race with another process, or the disk is full
        raise InvalidInput(
            DAGSTER_HOME_ENV, str(home), f"cannot be set up ({err.strerror or err})"
        ) from None
    os.environ[DAGSTER_HOME_ENV] = str(home)
    return home


def seed_instance_yaml(target: Path) -> None:
    """Write the embedded default to `target` whole or not at all: a process starting beside
    this one (the UI and a `dgas` command) never reads a half-written file, and an operator's
    file that appeared meanwhile is kept."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_bytes(embedded_instance_yaml())
    try:
        with contextlib.suppress(FileExistsError):
            os.link(partial, target)
    finally:
        partial.unlink()


def replace_instance_yaml(target: Path) -> None:
    """Write the embedded default over `target` in one rename: a process reading it meanwhile
    reads the old file or the new one, never half of one."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_bytes(embedded_instance_yaml())
    os.replace(partial, target)


def embedded_instance_yaml() -> bytes:
    """The default instance's `dagster.yaml`, as shipped in the package."""
    return resources.files("dgas_pipeline").joinpath(INSTANCE_YAML).read_bytes()


def check_dagster_home(env: Mapping[str, str] = os.environ) -> Path:
    """The home, resolved, or InvalidInput naming DAGSTER_HOME; nothing is created."""
    raw = env.get(DAGSTER_HOME_ENV, "")
    if raw:
        control = next((char for char in raw if ord(char) < 0x20 or ord(char) == 0x7F), None)
        if control is not None:
            raise InvalidInput(
                DAGSTER_HOME_ENV,
                raw,
                f"contains the control character {control!r} (a stray newline from a script?); "
                "expected an absolute directory path",
            )
        if not os.path.isabs(raw):
            raise InvalidInput(
                DAGSTER_HOME_ENV,
                raw,
                "is a relative path (Dagster requires an absolute one, e.g. /srv/dgas/home)",
            )
        home, shown, unset = Path(raw), raw, ""
    else:
        home = Path.cwd() / ".dagster_home"
        shown, unset = str(home), " (DAGSTER_HOME unset: the default in the working directory)"
    problem = why_not_writable(home)
    if problem is None and (home / INSTANCE_YAML).exists() and not (home / INSTANCE_YAML).is_file():
        problem = f"holds a {INSTANCE_YAML} that is not a file"
    if problem is not None:
        raise InvalidInput(DAGSTER_HOME_ENV, shown, problem + unset)
    return home.resolve()


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
