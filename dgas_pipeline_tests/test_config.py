"""`SchedulerConfig` and `load_config`: defaults, normalisation, bad input, the example file."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from dgas_pipeline.config import SchedulerConfig, load_config, validate_config
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import PlanSettings

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "dgas.example.yaml"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ./dgas.yaml and no DGAS_CONFIG from the developer's shell."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DGAS_CONFIG", raising=False)


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidInput) as err:
        validate_config(raw)
    return err.value.lines


# -- defaults (DESIGN.md §5, the seed's values) -------------------------------------------------

DEFAULTS = [
    ("interval", "30min"),
    ("symbols", ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "SPY", "QQQ")),
    ("enabled_timeframes", ("4h", "1h", "30min")),
    ("min_confidence", 0.6),
    ("min_signal_strength", 0.5),
    ("min_alignment", 0.6),
    ("max_symbols_per_cycle", 50),
    ("timeout_seconds", 180),
    ("run_on_startup", False),
    ("persist_state", True),
    ("data_delay_minutes", 0),
    ("eod_delay_minutes", 20),
    ("database_url", None),
]


@pytest.mark.parametrize(("field", "default"), DEFAULTS)
def test_default_matches_the_seed(field: str, default: Any) -> None:
    assert getattr(SchedulerConfig(), field) == default


def test_default_exchange_is_xnys_without_overrides() -> None:
    config = SchedulerConfig()
    assert (config.calendar.exchange, config.calendar.overrides_file) == ("XNYS", None)


def test_plan_settings_come_from_interval_and_delays() -> None:
    config = validate_config({"interval": "15min", "data_delay_minutes": 2, "eod_delay_minutes": 5})
    assert config.plan_settings == PlanSettings(
        interval=timedelta(minutes=15),
        data_delay=timedelta(minutes=2),
        eod_delay=timedelta(minutes=5),
    )


# -- normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field", "value"),
    [
        ({"interval": "30m"}, "interval", "30min"),
        ({"interval": "15 MIN"}, "interval", "15min"),
        ({"symbols": ["aapl", " msft ", "brk.b"]}, "symbols", ("AAPL", "MSFT", "BRK.B")),
        ({"enabled_timeframes": ["240min", "60m", "30min"]}, "enabled_timeframes",
         ("4h", "1h", "30min")),
        ({"partitions_start": "2026-01-02"}, "partitions_start", date(2026, 1, 2)),
    ],
    ids=["30m", "15-MIN", "lower-case-tickers", "timeframes-in-minutes", "date-as-text"],
)  # fmt: skip
def test_values_are_normalised_to_their_canonical_spelling(
    raw: dict[str, Any], field: str, value: Any
) -> None:
    assert getattr(validate_config(raw), field) == value


@pytest.mark.parametrize("interval", ["5min", "10min", "15min", "30min"])
def test_intervals_dividing_30_minutes_are_accepted(interval: str) -> None:
    timeframes = ["4h", "1h", interval] if interval != "30min" else ["4h", "1h", "30min"]
    assert validate_config({"interval": interval, "enabled_timeframes": timeframes}).interval == (
        interval
    )


@pytest.mark.parametrize("interval", ["1h", "45min", "20min", "7min", "4h"])
def test_interval_not_dividing_30_minutes_is_rejected_for_partitions(interval: str) -> None:
    lines = problems({"interval": interval})
    assert len(lines) == 1
    assert lines[0].startswith(f"interval: {interval!r} ")
    assert "30min" in lines[0]


# -- bad input: one line per problem, naming the field and the value -----------------------------

BAD = [
    pytest.param({"intervall": "30min"}, [("intervall", "<not shown>")], id="unknown-key"),
    pytest.param({"calendar": {"exchang": "XNYS"}}, [("calendar.exchang", "<not shown>")],
                 id="unknown-nested-key"),
    pytest.param({"calendar": {"exchange": "NOPE"}}, [("calendar.exchange", "NOPE")],
                 id="unknown-exchange"),
    pytest.param({"symbols": ["AAPL", "BRK B"]}, [("symbols[1]", "BRK B")], id="ticker-with-space"),
    pytest.param({"symbols": ["AAPL", "BRK B", "X/Y"]},
                 [("symbols[1]", "BRK B"), ("symbols[2]", "X/Y")], id="every-bad-ticker-reported"),
    pytest.param({"symbols": ["AAPL", "aapl"]}, [("symbols[1]", "aapl")], id="duplicate-ticker"),
    pytest.param({"symbols": "AAPL,MSFT"}, [("symbols", "AAPL,MSFT")], id="tickers-as-one-string"),
    pytest.param({"symbols": []}, [("symbols", "")], id="no-tickers"),
    pytest.param({"enabled_timeframes": ["30min", "1h", "4h"]},
                 [("enabled_timeframes", "30min")], id="timeframes-ascending"),
    pytest.param({"enabled_timeframes": ["1h", "1h"]}, [("enabled_timeframes", "1h")],
                 id="timeframes-repeated"),
    pytest.param({"enabled_timeframes": ["1h"]}, [("enabled_timeframes", "1h")],
                 id="single-timeframe"),
    pytest.param({"enabled_timeframes": ["4h", "1h", "45min"]},
                 [("enabled_timeframes[2]", "45min")], id="timeframe-not-multiple-of-interval"),
    pytest.param({"enabled_timeframes": ["4h", "fast"]}, [("enabled_timeframes", "fast")],
                 id="timeframe-not-an-interval"),
    pytest.param({"min_confidence": 1.5}, [("min_confidence", "1.5")], id="confidence-above-1"),
    pytest.param({"min_alignment": -0.1}, [("min_alignment", "-0.1")], id="alignment-below-0"),
    pytest.param({"enabled_patterns": ["PLDOT_PUSH", "ZIGZAG"]},
                 [("enabled_patterns[1]", "ZIGZAG")], id="unknown-pattern"),
    pytest.param({"max_symbols_per_cycle": 0}, [("max_symbols_per_cycle", "0")],
                 id="zero-symbols-per-cycle"),
    pytest.param({"timeout_seconds": "soon"}, [("timeout_seconds", "soon")],
                 id="timeout-not-a-number"),
    pytest.param({"data_delay_minutes": -1}, [("data_delay_minutes", "-1")],
                 id="negative-data-delay"),
    pytest.param({"partitions_start": "2026-13-01"}, [("partitions_start", "2026-13-01")],
                 id="partitions-start-month-13"),
    pytest.param({"intervall": "30min", "min_confidence": 1.5},
                 [("min_confidence", "1.5"), ("intervall", "<not shown>")],
                 id="two-problems-two-lines"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), BAD)
def test_bad_config_is_reported_one_line_per_problem_with_field_and_value(
    raw: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    lines = problems(raw)
    assert len(lines) == len(expected)
    for (field, value), line in zip(expected, lines, strict=True):
        assert line.startswith(f"{field}: ")
        assert value in line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://dgas:hunter2@db.internal:5432/dgas",
        "postgresql+psycopg2://dgas:hunter2@db.internal/dgas",
        "postgresql://dgas:hunt[er2@db.internal/dgas",  # urlsplit cannot parse this one
    ],
    ids=["password", "password-with-driver", "password-in-an-unparseable-url"],
)
def test_database_url_with_a_password_is_rejected_without_showing_it(url: str) -> None:
    lines = problems({"database_url": url})
    assert len(lines) == 1
    assert lines[0].startswith("database_url: ")
    assert "db.internal" in lines[0]
    assert "hunter2" not in lines[0] and "hunt[er2" not in lines[0]


@pytest.mark.parametrize(
    "url", ["sqlite:///dgas.db", "postgresql://dgas@db.internal:5432/dgas", None]
)
def test_database_url_without_a_password_is_accepted(url: str | None) -> None:
    assert validate_config({"database_url": url}).database_url == url


# -- files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("interval: [30min\n", "is not valid YAML at line", id="bad-yaml"),
        pytest.param("- interval\n- 30min\n", "must be a YAML mapping", id="list-not-mapping"),
        pytest.param("just text\n", "must be a YAML mapping", id="scalar-not-mapping"),
    ],
)
def test_unreadable_config_file_is_bad_input_naming_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        load_config(path)
    assert err.value.field == "config"
    assert "broken.yaml" in str(err.value)
    assert expected in str(err.value)


def test_missing_named_config_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        load_config(tmp_path / "nope.yaml")
    assert err.value.field == "config"


def test_without_a_file_the_defaults_apply() -> None:
    assert load_config() == SchedulerConfig()


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    assert load_config(tmp_path / "empty.yaml") == SchedulerConfig()


def test_dgas_yaml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "dgas.yaml").write_text("data_delay_minutes: 2\n", encoding="utf-8")
    assert load_config().data_delay_minutes == 2


def test_dgas_config_variable_wins_over_dgas_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dgas.yaml").write_text("data_delay_minutes: 2\n", encoding="utf-8")
    (tmp_path / "other.yaml").write_text("data_delay_minutes: 7\n", encoding="utf-8")
    monkeypatch.setenv("DGAS_CONFIG", str(tmp_path / "other.yaml"))
    assert load_config().data_delay_minutes == 7


# -- the example file ------------------------------------------------------------------------------


def model_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every leaf field of `model`, nested models as `calendar.exchange`."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names |= model_fields(kind, f"{prefix}{name}.")
        else:
            names.add(prefix + name)
    return names


def file_fields(raw: dict[str, Any], prefix: str = "") -> set[str]:
    names: set[str] = set()
    for key, value in raw.items():
        if isinstance(value, dict):
            names |= file_fields(value, f"{prefix}{key}.")
        else:
            names.add(prefix + key)
    return names


def test_example_config_validates() -> None:
    config = load_config(EXAMPLE)
    assert config == SchedulerConfig()  # it shows the defaults


def test_example_config_lists_every_field_of_the_model() -> None:
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert file_fields(raw) == model_fields(SchedulerConfig)


def test_example_config_comments_every_field_with_its_default_and_allowed_values() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for field in model_fields(SchedulerConfig):
        name = field.rsplit(".", 1)[-1]
        at = next(i for i, line in enumerate(lines) if re.match(rf"^\s*{name}:", line))
        comment = []
        for line in reversed(lines[:at]):
            if not line.lstrip().startswith("#"):
                break
            comment.append(line)
        text = " ".join(comment)
        assert "Default" in text, f"{field}: no default in its comment"
        assert "Allowed" in text, f"{field}: no allowed values in its comment"


def test_example_config_names_secrets_only_as_environment_variables() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "DGAS_DATABASE_URL" in text
    raw = yaml.safe_load(text)
    assert raw["database_url"] is None
