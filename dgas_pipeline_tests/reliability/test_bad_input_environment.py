"""An environment a command cannot work in: refused at the command's start with exit 2 and one
line naming the variable (the config field when the value came from the config), nothing
created, launched or stored, `dgas status` fine after on the prepared instance.

cli/test_environment.py has the first table of these (URLs that do not parse, unknown
drivers, servers that do not answer, homes that are files or unwritable) over `status`,
`run-once`, `backfill --wait`, `watchlist list` and `db current`; the cases here are other
values (in-memory and looping SQLite files, a search_path without a schema, control
characters, symbolic-link loops, devices, a FIFO) through the other commands that need them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest

from dgas_pipeline_tests.processes import free_port
from dgas_pipeline_tests.reliability.bad_input import (
    Case,
    Scene,
    cases,
    directory,
    fifo,
    make_files,
    symlink_to,
)

AT = "2026-11-20T11:05:00-05:00"
DAY = "2026-11-20"
URL = "DGAS_DATABASE_URL"
HOME = "DAGSTER_HOME"
NOT_A_URL = "is not a database URL"
WATCHLIST = "watchlists: [{name: w, symbols: [SPY]}]\n"


def newer_database(path: Path) -> None:
    """A SQLite file at a schema revision this code does not know, as a newer release leaves
    it (Alembic would fail its upgrade with a traceback)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE dgas_alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO dgas_alembic_version VALUES ('0099')")
        conn.commit()


def url(value: str) -> dict[str, str]:
    return {URL: value}


def home(value: str) -> dict[str, str]:
    return {HOME: value}


CASES = cases("cli", [
    # -- DGAS_DATABASE_URL ----------------------------------------------------------------------
    ("url-sqlite-in-memory", ("watchlist", "add", "w", "--symbols", "SPY"), URL, "in-memory", {},
     url("sqlite://")),
    ("url-sqlite-memory-file", ("watchlist", "import", "w.yaml"), URL, "in-memory",
     {"w.yaml": WATCHLIST}, url("sqlite:///:memory:")),
    ("url-sqlite-shared-memory", ("run-once", "--at", AT), URL, "in-memory", {},
     url("sqlite:///file::memory:?cache=shared")),
    ("url-sqlite-symlink-loop", ("db", "upgrade"), URL, "Too many levels of symbolic links",
     {"a.db": symlink_to("b.db"), "b.db": symlink_to("a.db")}, url("sqlite:///{work}/a.db")),
    ("url-sqlite-dev-null", ("run-once", "--at", AT), URL, "not a file", {},
     url("sqlite:////dev/null")),
    ("url-sqlite-a-fifo", ("watchlist", "import", "w.yaml"), URL, "not a file",
     {"w.yaml": WATCHLIST, "db.fifo": fifo}, url("sqlite:///{work}/db.fifo")),
    ("url-sqlite-a-directory-named-db", ("backfill", "--start", DAY, "--end", DAY), URL,
     "not a file", {"dgas.db": directory}, url("sqlite:///{work}/dgas.db")),
    ("url-a-trailing-newline", ("watchlist", "add", "w", "--symbols", "SPY"), URL, NOT_A_URL, {},
     url("sqlite:///{work}/dgas.db\n")),
    ("url-a-trailing-space", ("watchlist", "list"), URL, NOT_A_URL, {},
     url("sqlite:///{work}/dgas.db ")),
    ("url-a-tab-inside", ("db", "upgrade"), URL, NOT_A_URL, {},
     url("postgresql://postgres@127.0.0.1:5432/te\tst")),
    ("url-driver-not-installed", ("api", "--port", "{port}"), URL, "'asyncpg'", {},
     url("postgresql+asyncpg://postgres@127.0.0.1:{port}/test")),
    ("url-a-100000-character-database", ("backfill", "--start", DAY, "--end", DAY), URL, "…", {},
     url("postgresql://postgres@127.0.0.1:{port}/" + "d" * 100_000)),
    ("url-refused-while-importing", ("watchlist", "import", "w.yaml", "--replace"), URL,
     "cannot connect", {"w.yaml": WATCHLIST}, url("postgresql://postgres@127.0.0.1:{port}/x")),
    ("url-search-path-without-a-schema", ("watchlist", "add", "w", "--symbols", "SPY"), URL,
     "no existing schema", {},
     url("{pg}?options=" + quote("-csearch_path=no_such_schema_here", safe=""))),
    ("url-a-database-a-newer-release-migrated", ("watchlist", "add", "w", "--symbols", "SPY"),
     URL, "schema revision '0099'", {"new.db": newer_database}, url("sqlite:///{work}/new.db")),
    ("home-holding-a-database-a-newer-release-migrated", ("run-once", "--at", AT), HOME,
     "schema revision '0099'", {"home/dgas.db": newer_database}, {HOME: "{work}/home", URL: ""}),
    # -- database_url in the config: the field is named ---------------------------------------
    ("config-url-in-memory", ("status", "--config", "c.yaml"), "database_url", "in-memory",
     {"c.yaml": "database_url: 'sqlite://'\n"}, {URL: ""}),
    ("config-url-symlink-loop", ("watchlist", "list", "--config", "c.yaml"), "database_url",
     "Too many levels", {"c.yaml": "database_url: 'sqlite:///{work}/loop.db'\n",
                         "loop.db": symlink_to("loop.db")}, {URL: ""}),
    ("config-url-unknown-driver", ("db", "upgrade", "--config", "c.yaml"), "database_url",
     "unknown database driver", {"c.yaml": "database_url: 'oracle+nope://db/x'\n"}, {URL: ""}),
    # -- DAGSTER_HOME ---------------------------------------------------------------------------
    ("home-symlink-loop", ("run-once", "--at", AT), HOME, "Too many levels of symbolic links",
     {"h1": symlink_to("h2"), "h2": symlink_to("h1")}, home("{work}/h1")),
    ("home-under-a-symlink-loop", ("status",), HOME, "Too many levels of symbolic links",
     {"loop": symlink_to("loop")}, home("{work}/loop/home")),
    ("home-a-trailing-newline", ("backfill", "--start", DAY, "--end", DAY), HOME,
     "control character", {}, home("{work}/home\n")),
    ("home-a-tilde", ("status",), HOME, "relative path", {}, home("~/dgas-home")),
    ("home-a-dot", ("run-once", "--at", AT), HOME, "relative path", {}, home(".")),
    ("home-dev-null", ("status",), HOME, "not a directory", {}, home("/dev/null")),
    ("home-a-fifo", ("backfill", "--start", DAY, "--end", DAY, "--wait"), HOME,
     "not a directory", {"home": fifo}, home("{work}/home")),
    ("home-a-symlink-to-a-file", ("run-once", "--at", AT), HOME, "not a directory",
     {"file": "x", "home": symlink_to("file")}, home("{work}/home")),
    ("home-a-name-too-long", ("status",), HOME, "File name too long", {},
     home("{work}/" + "h" * 300)),
    ("home-of-the-database-a-file", ("watchlist", "list"), HOME, "not a directory",
     {"home": "x"}, {HOME: "{work}/home", URL: ""}),
    # -- the other variables a command reads first -----------------------------------------------
    ("dgas-config-dev-zero", ("status",), "config", "is a device", {},
     {"DGAS_CONFIG": "/dev/zero"}),
    ("dgas-config-missing", ("watchlist", "list"), "config", "No such file", {},
     {"DGAS_CONFIG": "{work}/missing.yaml"}),
    ("dagster-postgres-url-without-psycopg2", ("run-once", "--at", AT), "DAGSTER_POSTGRES_URL",
     "postgresql+psycopg2://", {}, {"DAGSTER_POSTGRES_URL": "postgresql://x@127.0.0.1/db"}),
    ("api-token-too-short-beyond-loopback", ("api", "--host", "0.0.0.0", "--port", "{port}"),  # noqa: S104
     "DGAS_API_TOKEN", "shorter than 16", {}, {"DGAS_API_TOKEN": "short"}),
    ("api-no-token-beyond-loopback", ("api", "--host", "::", "--port", "{port}"),
     "DGAS_API_TOKEN", "is required", {}, {"DGAS_API_TOKEN": ""}),
])  # fmt: skip


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES)
def test_an_environment_a_command_cannot_work_in_is_refused_and_nothing_changes(
    scene: Scene, case: Case, request: pytest.FixtureRequest
) -> None:
    port = str(free_port())  # nobody listens on it
    pg = "{pg}"
    if any(pg in value for value in case.env.values()):
        pg = request.getfixturevalue("pg_server_url")  # skipped when unreachable

    def filled(text: str) -> str:
        return text.replace("{port}", port).replace("{pg}", pg)

    case = dataclasses.replace(
        case,
        given=tuple(filled(part) for part in case.given),
        env={name: filled(value) for name, value in case.env.items()},
    )
    make_files(scene.work, case.files)
    scene.refuses(case)
