"""DAGSTER_HOME: what Dagster and our store can use, and what is refused naming it.

Tests run as root, who may write almost anywhere; the unwritable homes are therefore real
ones nobody may write: under a regular file, and in /proc.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dgas_pipeline.dagster_home import check_dagster_home, ensure_dagster_home
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.writable import why_not_writable

# home ({root}: the test's directory, holding a regular file `file`) -> a piece of the problem
REFUSED = [
    pytest.param("relative/home", "relative path", id="relative"),
    pytest.param("./home", "relative path", id="dot-relative"),
    pytest.param("~/home", "relative path", id="tilde-unexpanded"),
    pytest.param("{root}/file", "is not a directory", id="a-file"),
    pytest.param("{root}/file/home", "cannot be created: {root}/file is not a directory",
                 id="under-a-file"),
    pytest.param("{root}/file/a/b/c", "{root}/file is not a directory", id="deep-under-a-file"),
    pytest.param("/proc/1", "is not writable", id="proc-directory"),
    pytest.param("/proc/dgas-home", "cannot be created: /proc is not writable", id="in-proc"),
    pytest.param("/dev/null", "is not a directory", id="a-device"),
]  # fmt: skip


@pytest.mark.parametrize(("home", "problem"), REFUSED)
def test_a_home_dagster_cannot_use_is_refused_naming_the_variable_and_nothing_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: str, problem: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    home = home.format(root=tmp_path)
    for check in (check_dagster_home, ensure_dagster_home):
        monkeypatch.setenv("DAGSTER_HOME", home)
        with pytest.raises(InvalidInput) as err:
            check()
        assert (err.value.field, err.value.value) == ("DAGSTER_HOME", home)
        assert problem.format(root=tmp_path) in err.value.expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_home_holding_a_dagster_yaml_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "home" / "dagster.yaml").mkdir(parents=True)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with pytest.raises(InvalidInput, match=r"dagster\.yaml that is not a file"):
        ensure_dagster_home()


@pytest.mark.parametrize("home", ["{root}/new", "{root}/new/deeper/still", "{root}"])
def test_a_usable_home_is_created_and_seeded_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: str
) -> None:
    path = Path(home.format(root=tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(path))
    assert check_dagster_home() == path.resolve()
    assert not (path / "dagster.yaml").exists()  # the check creates nothing
    assert ensure_dagster_home() == path.resolve()
    assert (path / "dagster.yaml").is_file()


def test_an_unset_home_is_the_working_directory_s_and_named_when_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert check_dagster_home() == (tmp_path / ".dagster_home").resolve()
    (tmp_path / ".dagster_home").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        check_dagster_home()
    assert err.value.field == "DAGSTER_HOME"
    assert "unset" in err.value.expected


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("{root}", None),
        ("{root}/missing/too", None),
        ("{root}/file", "is not a directory"),
        ("{root}/file/x", "cannot be created"),
        ("/proc/1", "is not writable"),
    ],
    ids=["existing", "missing", "a-file", "under-a-file", "proc"],
)
def test_why_not_writable_answers_without_leaving_anything(
    tmp_path: Path, path: str, answer: str | None
) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    why = why_not_writable(Path(path.format(root=tmp_path)))
    assert (why is None) == (answer is None)
    if answer:
        assert answer in why
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
