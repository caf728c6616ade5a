"""The pipeline clock: the system clock, shifted by an offset, or stepped through a file."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from dgas_pipeline.clock import (
    CLOCK_FILE_ENV,
    CLOCK_OFFSET_ENV,
    MAX_OFFSET_SECONDS,
    now,
    read_clock_file,
    write_clock_file,
)
from dgas_pipeline.errors import InvalidInput

REAL = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_clock_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLOCK_FILE_ENV, raising=False)
    monkeypatch.delenv(CLOCK_OFFSET_ENV, raising=False)


def test_without_settings_the_clock_is_the_system_clock() -> None:
    with time_machine.travel(REAL, tick=False):
        assert now() == REAL


def test_the_offset_shifts_the_running_system_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLOCK_OFFSET_ENV, "-3600.5")
    with time_machine.travel(REAL, tick=False) as traveller:
        assert now() == REAL - timedelta(seconds=3600.5)
        traveller.shift(10)
        assert now() == REAL - timedelta(seconds=3590.5)


def test_the_file_clock_stands_still_and_moves_only_when_stepped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clock"
    write_clock_file(path, datetime.fromisoformat("2026-11-27T10:00:00-05:00"))
    monkeypatch.setenv(CLOCK_FILE_ENV, str(path))
    monkeypatch.setenv(CLOCK_OFFSET_ENV, "86400")  # the file wins over the offset
    with time_machine.travel(REAL, tick=False) as traveller:
        assert now() == datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
        assert now().tzinfo is UTC
        traveller.shift(600)
        assert now() == datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    write_clock_file(path, datetime.fromisoformat("2026-11-27T13:20:00-05:00"))
    assert now() == datetime(2026, 11, 27, 18, 20, tzinfo=UTC)
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("2026-11-27T10:00:00", "with a UTC offset"),
        ("tomorrow", "is not an ISO-8601 instant"),
        ("", "is not an ISO-8601 instant"),
    ],
)
def test_a_bad_clock_file_names_the_setting_the_value_and_the_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, expected: str
) -> None:
    path = tmp_path / "clock"
    path.write_text(content, encoding="utf-8")
    monkeypatch.setenv(CLOCK_FILE_ENV, str(path))
    with pytest.raises(InvalidInput, match=expected) as caught:
        now()
    assert caught.value.field == CLOCK_FILE_ENV
    assert caught.value.value == content
    assert str(path) in str(caught.value)


def test_a_missing_clock_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nowhere"
    monkeypatch.setenv(CLOCK_FILE_ENV, str(path))
    with pytest.raises(InvalidInput, match="cannot be read") as caught:
        now()
    assert caught.value.value == str(path)


def test_writing_a_naive_instant_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="UTC offset"):
        write_clock_file(tmp_path / "clock", datetime(2026, 11, 27, 10, 0))
    assert not (tmp_path / "clock").exists()


def test_a_reader_never_sees_a_half_written_file(tmp_path: Path) -> None:
    """Steps replace the file whole, so concurrent reads see one instant or the other."""
    path = tmp_path / "clock"
    instants = [datetime(2026, 11, 27, 15, m, tzinfo=UTC) for m in range(60)]
    write_clock_file(path, instants[0])
    seen: list[datetime] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(read_clock_file(path))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(20):
            for at in instants:
                write_clock_file(path, at)
    finally:
        stop.set()
        reader.join(timeout=10)
    assert seen and set(seen) <= set(instants)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/dev/zero", "not a regular file"),
        ("directory", "not a regular file"),
        ("huge", "1 MiB"),
        ("binary", "UTF-8"),
    ],
)
def test_a_clock_file_that_is_no_small_text_file_is_refused_without_reading_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, expected: str
) -> None:
    (tmp_path / "directory").mkdir()
    (tmp_path / "huge").write_text("2026-11-27T10:00:00-05:00" + " " * 2_000_000)
    (tmp_path / "binary").write_bytes(b"\xff\xfe2\x000\x00")
    path = Path(name) if name.startswith("/") else tmp_path / name
    monkeypatch.setenv(CLOCK_FILE_ENV, str(path))
    with pytest.raises(InvalidInput, match=expected) as caught:
        now()
    assert caught.value.field == CLOCK_FILE_ENV


@pytest.mark.parametrize(
    "value", ["soon", "nan", "inf", "-inf", "1e300", str(MAX_OFFSET_SECONDS + 1), "0x10"]
)
def test_an_offset_that_is_no_finite_number_of_seconds_within_a_century_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(CLOCK_OFFSET_ENV, value)
    with pytest.raises(InvalidInput, match="finite number of seconds") as caught:
        now()
    assert caught.value.field == CLOCK_OFFSET_ENV
    assert caught.value.value == value


@pytest.mark.parametrize(("value", "seconds"), [("", 0.0), (" 60 ", 60.0), ("-1e3", -1000.0)])
def test_an_offset_within_bounds_shifts_the_clock(
    monkeypatch: pytest.MonkeyPatch, value: str, seconds: float
) -> None:
    monkeypatch.setenv(CLOCK_OFFSET_ENV, value)
    with time_machine.travel(REAL, tick=False):
        assert now() == REAL + timedelta(seconds=seconds)
