"""An environment a command cannot work in is refused at its start, naming the variable.

`DGAS_DATABASE_URL` (or the config's `database_url`) that is not a URL, names a driver
nobody installed or a server that does not answer, and a `DAGSTER_HOME` that is a file, a
relative path, or a directory no one can write: every command that needs them exits 2 with
one line naming the variable (the config field when the URL came from the config) and its
value, the password masked; never a traceback, and nothing is created or changed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dgas_pipeline.store.engine import dispose_engine, make_engine
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline.watchlists.service import WatchlistService
from dgas_pipeline_tests.deployment import DGAS_ENV, forget_code_location, run_dgas
from dgas_pipeline_tests.processes import free_port
from dgas_pipeline_tests.refusals import assert_refused, files_under, table_rows
from dgas_pipeline_tests.reliability.conftest import dgas_command

DAY = "2026-11-20"
AT = "2026-11-20T11:05:00-05:00"
SENTINEL = "hunter2"  # a password that must never be printed
# Every command that needs the home (the first three) or the database (all of them).
ALL = (
    ("status",),
    ("run-once", "--at", AT),
    ("backfill", "--start", DAY, "--end", DAY, "--wait"),
    ("watchlist", "list"),
    ("db", "current"),
)
HOME_ONLY = ALL[:3]


@dataclass(frozen=True)
class Case:
    """`{root}` in values is the test's directory; `{port}` a port nobody listens on."""

    field: str
    fragments: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    config: str = ""
    files: dict[str, str] = field(default_factory=dict)
    commands: tuple[tuple[str, ...], ...] = ALL
    """Refused; the others of ALL must still work."""


def url_case(url: str, *fragments: str, **files: str) -> Case:
    return Case("DGAS_DATABASE_URL", fragments, env={"DGAS_DATABASE_URL": url}, files=files)


def config_case(url: str, *fragments: str) -> Case:
    return Case("database_url", fragments, config=f"database_url: {url!r}\n")


def home_case(home: str, *fragments: str, **files: str) -> Case:
    return Case("DAGSTER_HOME", fragments, env={"DAGSTER_HOME": home}, files=files)


CASES = [
    # DGAS_DATABASE_URL
    pytest.param(url_case("not a url", "'***'", "not a database URL"), id="url-not-a-url"),
    pytest.param(url_case(f"postgresql://u:{SENTINEL}@db:port/x", "not a database URL"),
                 id="url-port-not-a-number"),
    pytest.param(url_case("://nothing", "not a database URL"), id="url-no-scheme"),
    pytest.param(url_case("   ", "not a database URL"), id="url-blank"),
    pytest.param(url_case(" sqlite:///{root}/dgas.db", "not a database URL"),
                 id="url-with-a-leading-space"),
    pytest.param(url_case("foo://db/x", "'foo://db/x'", "unknown database driver 'foo'"),
                 id="url-unknown-dialect"),
    pytest.param(url_case("http://example.com/db", "unknown database driver 'http'"),
                 id="url-http"),
    pytest.param(url_case("postgresql+nodriver://u@db/x", "'postgresql+nodriver'"),
                 id="url-unknown-driver"),
    pytest.param(url_case("mysql://u@127.0.0.1/x", "'MySQLdb'", "not installed"),
                 id="url-driver-not-installed"),
    pytest.param(url_case(f"postgresql://postgres:{SENTINEL}@127.0.0.1:{{port}}/test",
                          "postgres:***@127.0.0.1", "cannot connect", "refused"),
                 id="url-connection-refused"),
    pytest.param(url_case("postgresql://postgres@no-such-host.invalid/test", "cannot connect",
                          "no-such-host.invalid"), id="url-host-does-not-resolve"),
    pytest.param(url_case("postgresql://postgres@127.0.0.1:99999/test", "cannot connect"),
                 id="url-port-out-of-range"),
    pytest.param(url_case("sqlite:///{root}/afile/dgas.db", "afile is not a directory",
                          afile="x"), id="url-sqlite-under-a-file"),
    pytest.param(url_case("sqlite:///{root}", "which is not a file"), id="url-sqlite-directory"),
    pytest.param(url_case("sqlite:///{root}/junk.db", "SQLite cannot open",
                          **{"junk.db": "x" * 200}), id="url-sqlite-not-a-database"),
    pytest.param(url_case("sqlite:////proc/1/dgas.db", "/proc/1 is not writable"),
                 id="url-sqlite-unwritable-directory"),
    # database_url of the config: the field is named, not the variable
    pytest.param(config_case("not a url", "'***'", "not a database URL"),
                 id="config-url-not-a-url"),
    pytest.param(config_case("foo://db/x", "unknown database driver 'foo'"),
                 id="config-url-unknown-dialect"),
    pytest.param(config_case("postgresql://postgres@127.0.0.1:{port}/test", "cannot connect"),
                 id="config-url-connection-refused"),
    # DAGSTER_HOME (our tables default to a SQLite file in it)
    pytest.param(home_case("relative/home", "'relative/home'", "relative path"),
                 id="home-relative"),
    pytest.param(home_case(" ", "relative path"), id="home-a-space"),
    pytest.param(home_case("{root}/afile", "afile'", "is not a directory", afile="x"),
                 id="home-a-file"),
    pytest.param(home_case("{root}/afile/home", "afile is not a directory", afile="x"),
                 id="home-under-a-file"),
    pytest.param(home_case("/proc/1", "'/proc/1'", "is not writable"), id="home-unwritable"),
    pytest.param(home_case("/proc/dgas-home", "cannot be created", "/proc is not writable"),
                 id="home-cannot-be-created"),
    pytest.param(home_case("{root}/home", "dagster.yaml that is not a file",
                           **{"home/dagster.yaml/x": ""}), id="home-dagster-yaml-a-directory"),
    pytest.param(Case("DAGSTER_HOME", ("cannot load",), env={"DAGSTER_HOME": "{root}/home"},
                      files={"home/dagster.yaml": "run_storage: [\n"}, commands=HOME_ONLY),
                 id="home-dagster-yaml-not-yaml"),
    pytest.param(Case("DAGSTER_HOME", ("cannot load", "bogus_key"),
                      env={"DAGSTER_HOME": "{root}/home"},
                      files={"home/dagster.yaml": "bogus_key: 1\n"}, commands=HOME_ONLY),
                 id="home-dagster-yaml-unknown-key"),
    pytest.param(Case("DAGSTER_HOME", ("afile",), env={"DAGSTER_HOME": "{root}/afile",
                      "DGAS_DATABASE_URL": "sqlite:///{root}/dgas.db"}, files={"afile": "x"},
                      commands=HOME_ONLY), id="home-a-file-with-the-database-elsewhere"),
]  # fmt: skip


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory, no DGAS_* variable, a home path that does not exist."""
    monkeypatch.chdir(tmp_path)
    for name in DGAS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("DGAS_CONFIG", "-")  # `--config F` exports it: undone at teardown
    monkeypatch.delenv("DGAS_CONFIG")
    yield tmp_path
    forget_code_location()


def prepare(case: Case, root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    """Write the case's files, set its variables; the `--config` flag to pass, if any."""
    port = free_port()
    for name, text in case.files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.format(root=root, port=port))
    if not case.config:
        return ()
    (root / "c.yaml").write_text(case.config.format(port=port), encoding="utf-8")
    return ("--config", "c.yaml")


@pytest.mark.parametrize("case", CASES)
def test_an_environment_a_command_cannot_work_in_is_refused_naming_the_variable(
    root: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    config = prepare(case, root, monkeypatch)
    database = f"sqlite:///{root / 'dgas.db'}"
    if os.environ.get("DGAS_DATABASE_URL") == database:  # a good database: keep it unchanged
        ensure_schema(database)
        WatchlistService(make_engine(database)).add({"name": "core", "symbols": ["SPY"]})
    before = files_under(root)
    rows = table_rows(database) if (root / "dgas.db").exists() else None
    for argv in case.commands:
        code, out, err = run_dgas(*argv, *config, "--json")
        assert_refused(code, out, err, case.field, *case.fragments)
        assert SENTINEL not in err
    assert files_under(root) == before  # no home, no database file, no run
    if rows is not None:
        assert table_rows(database) == rows
        dispose_engine(database)
    for argv in set(ALL) - set(case.commands):  # what does not need the bad part still works
        code, _, err = run_dgas(*argv, *config, "--json")
        assert code == 0, (argv, err)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(url_case(f"postgresql://postgres:{SENTINEL}@127.0.0.1:{{port}}/test"),
                     id="url-connection-refused"),
        pytest.param(url_case("foo://db/x"), id="url-unknown-dialect"),
        pytest.param(config_case("not a url"), id="config-url-not-a-url"),
        pytest.param(home_case("{root}/afile", afile="x"), id="home-a-file"),
        pytest.param(home_case("/proc/1"), id="home-unwritable"),
    ],
)  # fmt: skip
def test_the_installed_script_prints_one_line_and_no_traceback(
    root: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    config = prepare(case, root, monkeypatch)
    command = dgas_command()
    for argv in (("status",), ("watchlist", "list")):
        done = subprocess.run(
            [*command, *argv, *config],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert_refused(done.returncode, done.stdout, done.stderr, case.field)
        assert SENTINEL not in done.stderr


def test_commands_that_need_no_database_do_not_check_it(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DGAS_DATABASE_URL", "foo://db/x")
    monkeypatch.setenv("DAGSTER_HOME", "relative/home")
    for argv in (("calendar", DAY), ("plan", "--start", DAY, "--end", DAY), ("config", "validate")):
        code, _, err = run_dgas(*argv, "--json")
        assert (code, err) == (0, ""), argv
