"""Our Alembic revision lives beside Dagster's, never in it (deploy/README.md: one database).

dagster-postgres keeps its own revision in `alembic_version`; ours is `dgas_alembic_version`.
A database migrated before that rename is adopted on its next upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa

from dgas_pipeline.store.engine import make_engine, write_transaction
from dgas_pipeline.store.migrate import (
    LEGACY_VERSION_TABLE,
    VERSION_TABLE,
    current_revision,
    head_revision,
    upgrade,
)

DAGSTER_REVISION = "29b539ebc72a"  # what dagster-postgres 1.13 stamps in alembic_version


def _version_table(name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), sa.Column("version_num", sa.String(32)))


def _versions(url: str) -> dict[str, list[str]]:
    with make_engine(url).connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
        return {
            name: list(conn.execute(sa.select(_version_table(name).c.version_num)).scalars())
            for name in (VERSION_TABLE, LEGACY_VERSION_TABLE)
            if name in present
        }


def _legacy_table(url: str, revision: str) -> None:
    legacy = _version_table(LEGACY_VERSION_TABLE)
    with write_transaction(make_engine(url)) as conn:
        legacy.create(conn)
        conn.execute(legacy.insert().values(version_num=revision))


def test_a_database_migrated_before_the_rename_is_adopted(db_url: str) -> None:
    upgrade(db_url)
    with write_transaction(make_engine(db_url)) as conn:
        _version_table(VERSION_TABLE).drop(conn)
    _legacy_table(db_url, head_revision())
    assert current_revision(db_url) == head_revision()  # read from the old table

    upgrade(db_url)  # nothing to migrate, only the revision moves

    assert _versions(db_url) == {VERSION_TABLE: [head_revision()]}
    assert current_revision(db_url) == head_revision()


def test_dagsters_alembic_version_in_the_same_database_is_left_alone(pg_url: str) -> None:
    _legacy_table(pg_url, DAGSTER_REVISION)
    assert current_revision(pg_url) is None  # not ours: this database was never migrated

    upgrade(pg_url)

    assert _versions(pg_url) == {
        VERSION_TABLE: [head_revision()],
        LEGACY_VERSION_TABLE: [DAGSTER_REVISION],
    }
    assert current_revision(pg_url) == head_revision()
