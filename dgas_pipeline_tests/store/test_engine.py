"""Where the tables live, how URLs are normalised and redacted, how engines behave."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.util.exc import CommandError
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import URL

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.store import repositories
from dgas_pipeline.store.engine import (
    DatabaseChoice,
    check_database,
    database_in_use,
    database_url,
    dispose_engine,
    make_engine,
    normalize_url,
    redact_url,
    write_transaction,
)
from dgas_pipeline.store.migrate import current_revision, head_revision, upgrade
from dgas_pipeline.store.revisions import VERSION_TABLE
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline.store.tables import prediction_runs
from dgas_pipeline_tests.processes import free_port
from dgas_pipeline_tests.store.rows import run_row


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DAGSTER_HOME": "/srv/dagster"}, "sqlite:////srv/dagster/dgas.db"),
        (
            {"DAGSTER_HOME": "/srv/dagster", "DGAS_DATABASE_URL": ""},
            "sqlite:////srv/dagster/dgas.db",
        ),
        (
            {"DAGSTER_HOME": "/srv/dagster", "DGAS_DATABASE_URL": "sqlite:////data/dgas.db"},
            "sqlite:////data/dgas.db",
        ),
        (
            {"DGAS_DATABASE_URL": "postgresql://dgas@db.internal:5432/dgas"},
            "postgresql+psycopg2://dgas@db.internal:5432/dgas",
        ),
        (
            {"DGAS_DATABASE_URL": "postgres://dgas:s3cret@db.internal/dgas"},
            "postgresql+psycopg2://dgas:s3cret@db.internal/dgas",
        ),
        (
            {"DGAS_DATABASE_URL": "postgresql+psycopg2://dgas@db.internal/dgas"},
            "postgresql+psycopg2://dgas@db.internal/dgas",
        ),
    ],
)
def test_database_url_answer_table(env: dict[str, str], expected: str) -> None:
    assert database_url(env) == expected


def test_database_url_defaults_to_dagster_home_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_url({}) == f"sqlite:///{tmp_path.resolve()}/.dagster_home/dgas.db"


def test_database_url_of_an_unparseable_value_names_the_variable_without_the_password() -> None:
    with pytest.raises(ValueError, match="DGAS_DATABASE_URL") as err:
        database_url({"DGAS_DATABASE_URL": "not a url with hunter2"})
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://dgas:s3cret@db/dgas", "postgresql://dgas:***@db/dgas"),
        ("postgresql+psycopg2://dgas@db/dgas", "postgresql+psycopg2://dgas@db/dgas"),
        (
            "postgresql://dgas@db/dgas?password=s3cret",
            "postgresql://dgas@db/dgas?password=redacted",
        ),
        ("sqlite:////tmp/dgas.db", "sqlite:////tmp/dgas.db"),
        ("::garbage s3cret", "***"),
    ],
)
def test_redact_url_answer_table(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@given(password=st.text(alphabet=st.characters(codec="utf-8"), min_size=4))
def test_redacted_url_never_contains_the_password(password: str) -> None:
    url = URL.create("postgresql", username="dgas", password=password, host="db", database="d")
    assert redact_url(url.render_as_string(hide_password=False)) == "postgresql://dgas:***@db/d"


def test_normalize_url_keeps_a_sqlite_url_as_given() -> None:
    assert normalize_url("sqlite:////tmp/dgas.db") == "sqlite:////tmp/dgas.db"


@pytest.mark.parametrize(
    "url",
    ["not a url", "postgresql://dgas:hunter2@db:port/dgas", "postgresql://u:hunter2@[::1/x"],
    ids=["words", "port-not-a-number", "unclosed-ipv6"],
)
def test_normalize_url_of_a_bad_url_names_the_field_it_came_from(url: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalize_url(url, "database_url")
    assert err.value.field == "database_url"
    assert "hunter2" not in str(err.value)
    assert "hunter2" not in redact_url(url)


# env, config's database_url -> (field named, value shown)
CHOICES = [
    pytest.param({"DGAS_DATABASE_URL": "postgresql://u:pw@db/x", "DAGSTER_HOME": "/h"},
                 "sqlite:////c.db", ("DGAS_DATABASE_URL", "postgresql://u:***@db/x"),
                 id="variable-wins-over-config"),
    pytest.param({"DGAS_DATABASE_URL": "", "DAGSTER_HOME": "/h"}, "sqlite:////c.db",
                 ("database_url", "sqlite:////c.db"), id="empty-variable-is-unset"),
    pytest.param({"DGAS_DATABASE_URL": "  ", "DAGSTER_HOME": "/h"}, "sqlite:////c.db",
                 ("DGAS_DATABASE_URL", "***"), id="blank-variable-is-a-bad-url"),
    pytest.param({"DAGSTER_HOME": "/h"}, None, ("DAGSTER_HOME", "/h"), id="default-in-the-home"),
    pytest.param({"DGAS_DATABASE_URL": "not a url"}, None, ("DGAS_DATABASE_URL", "***"),
                 id="unparseable-variable-shown-masked"),
]  # fmt: skip


@pytest.mark.parametrize(("env", "config_url", "expected"), CHOICES)
def test_database_in_use_names_what_chose_it(
    env: dict[str, str], config_url: str | None, expected: tuple[str, str]
) -> None:
    choice = database_in_use(config_url, env)
    assert (choice.field, choice.shown) == expected


# url ({root}: the test's directory; {port}: nobody listens) -> a piece of the problem
UNUSABLE = [
    pytest.param("foo://db/x", "unknown database driver 'foo'", id="unknown-dialect"),
    pytest.param("postgresql+nodriver://u@db/x", "unknown database driver", id="unknown-driver"),
    pytest.param("mysql://u@db/x", "'MySQLdb', which is not installed", id="driver-missing"),
    pytest.param("postgresql://postgres:hunter2@127.0.0.1:{port}/x", "cannot connect",
                 id="connection-refused"),
    pytest.param("postgresql://postgres@no-such-host.invalid/x", "cannot connect",
                 id="host-does-not-resolve"),
    pytest.param("sqlite:///{root}/file/dgas.db", "file is not a directory",
                 id="sqlite-under-a-file"),
    pytest.param("sqlite:///{root}", "is not a file", id="sqlite-a-directory"),
    pytest.param("sqlite:///{root}/file", "SQLite cannot open", id="sqlite-not-a-database"),
    pytest.param("sqlite:////proc/1/dgas.db", "is not writable", id="sqlite-unwritable"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "problem"), UNUSABLE)
def test_check_database_refuses_what_cannot_work_and_creates_nothing(
    tmp_path: Path, url: str, problem: str
) -> None:
    (tmp_path / "file").write_text("not a database, but long enough to have a header" * 4)
    url = url.format(root=tmp_path, port=free_port())
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(InvalidInput) as err:
        check_database(DatabaseChoice(url, "DGAS_DATABASE_URL", redact_url(url)), timeout_s=2)
    assert err.value.field == "DGAS_DATABASE_URL"
    assert problem in err.value.expected
    assert "hunter2" not in str(err.value)
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("name", ["dgas.db", "new/dir/dgas.db"])
def test_check_database_accepts_a_sqlite_file_to_be_created_without_creating_it(
    tmp_path: Path, name: str
) -> None:
    url = f"sqlite:///{tmp_path / name}"
    check_database(DatabaseChoice(url, "DGAS_DATABASE_URL", url))
    assert list(tmp_path.iterdir()) == []


def test_check_database_accepts_a_reachable_database(db_url: str) -> None:
    ensure_schema(db_url)
    check_database(DatabaseChoice(db_url, "DGAS_DATABASE_URL", redact_url(db_url)))


def test_make_engine_returns_one_engine_per_url(sqlite_url: str) -> None:
    assert make_engine(sqlite_url) is make_engine(sqlite_url)


def test_dispose_engine_makes_the_next_call_build_a_new_engine(sqlite_url: str) -> None:
    first = make_engine(sqlite_url)
    dispose_engine(sqlite_url)
    assert make_engine(sqlite_url) is not first


def test_sqlite_engine_creates_a_missing_dagster_home(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'home' / 'dgas.db'}"
    try:
        ensure_schema(url)
        assert (tmp_path / "new" / "home" / "dgas.db").is_file()
    finally:
        dispose_engine(url)


@pytest.mark.parametrize(
    ("pragma", "expected"),
    [("journal_mode", "wal"), ("foreign_keys", 1), ("busy_timeout", 30_000)],
)
def test_sqlite_connections_are_configured(sqlite_url: str, pragma: str, expected: object) -> None:
    with make_engine(sqlite_url).connect() as conn:
        assert conn.exec_driver_sql(f"PRAGMA {pragma}").scalar() == expected


def test_ensure_schema_migrates_a_new_database_to_head(db_url: str) -> None:
    ensure_schema(db_url)
    assert current_revision(db_url) == head_revision()


def test_ensure_schema_twice_changes_nothing(db_url: str) -> None:
    ensure_schema(db_url)
    with make_engine(db_url).begin() as conn:
        repositories.record_run(conn, run_row())
    ensure_schema(db_url)
    with make_engine(db_url).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(prediction_runs)).scalar() == 1


def test_ensure_schema_upgrades_a_database_at_an_older_revision(db_url: str) -> None:
    upgrade(db_url, "0003")
    with write_transaction(make_engine(db_url)) as conn:
        repositories.record_run(conn, run_row())
    ensure_schema(db_url)
    assert current_revision(db_url) == head_revision()
    with make_engine(db_url).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(prediction_runs)).scalar() == 1


def test_ensure_schema_leaves_a_database_a_newer_release_migrated_unchanged(db_url: str) -> None:
    """Its revision is not ours: never taken for current (that check reads the version table
    without Alembic), and the upgrade Alembic then attempts fails before changing anything."""
    ensure_schema(db_url)
    version = sa.table(VERSION_TABLE, sa.column("version_num"))
    with write_transaction(make_engine(db_url)) as conn:
        conn.execute(sa.update(version).values(version_num="0099"))
    with pytest.raises(CommandError, match="0099"):
        ensure_schema(db_url)
    assert current_revision(db_url) == "0099"


def test_concurrent_sqlite_writers_wait_for_each_other_instead_of_failing(sqlite_url: str) -> None:
    ensure_schema(sqlite_url)
    engine = make_engine(sqlite_url)
    errors: list[BaseException] = []
    first_holds_lock = threading.Event()

    def write(partition: str, hold: float) -> None:
        try:
            with write_transaction(engine) as conn:
                repositories.recent_runs(conn)  # read first, write after: the risky order
                repositories.record_run(conn, run_row(partition_key=partition))
                if hold:
                    first_holds_lock.set()
                    time.sleep(hold)
        except BaseException as err:
            errors.append(err)

    holder = threading.Thread(target=write, args=("p1", 0.5))
    holder.start()
    first_holds_lock.wait(timeout=5)
    waiter = threading.Thread(target=write, args=("p2", 0.0))
    waiter.start()
    holder.join()
    waiter.join()

    assert errors == []
    with engine.connect() as conn:
        assert len(repositories.recent_runs(conn)) == 2


def test_processes_starting_together_migrate_once_without_errors(db_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            ensure_schema(db_url)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert current_revision(db_url) == head_revision()
