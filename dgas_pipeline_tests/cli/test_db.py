"""`dgas db upgrade|downgrade|current` on both backends; bad revisions are bad input."""

from __future__ import annotations

import json

import pytest

from dgas_pipeline.cli.main import main
from dgas_pipeline.store.migrate import head_revision


def _db(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["db", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_upgrade_downgrade_and_current_move_the_revision(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DGAS_DATABASE_URL", db_url)
    assert _db(["current"], capsys)["revision"] is None
    assert _db(["upgrade"], capsys)["revision"] == head_revision()
    assert _db(["downgrade", "0001"], capsys)["revision"] == "0001"
    assert _db(["current"], capsys)["revision"] == "0001"
    assert _db(["downgrade", "base"], capsys)["revision"] is None


def test_an_unknown_revision_is_bad_input_naming_it(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DGAS_DATABASE_URL", sqlite_url)
    assert main(["db", "downgrade", "nope"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("dgas: REVISION: 'nope' is not one of base, 0001")


def test_the_password_of_the_database_url_is_never_printed(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with_password = pg_url.replace("postgres@", "postgres:s3cret-sentinel@")
    monkeypatch.setenv("DGAS_DATABASE_URL", with_password)
    state = _db(["current"], capsys)
    assert "s3cret-sentinel" not in json.dumps(state)
