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
from dgas_pipeline_tests.deployment import run_dgas

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


# -- tickers: one ASCII character set, checked before any case folding ---------------------------

# (as written, as stored)
TICKERS = [
    pytest.param("AAPL", "AAPL", id="plain"),
    pytest.param("brk.b", "BRK.B", id="class-share-dot-lower-case"),
    pytest.param("BF-B", "BF-B", id="class-share-dash"),
    pytest.param("I:SPX", "I:SPX", id="polygon-index"),
    pytest.param("x:btcusd", "X:BTCUSD", id="polygon-crypto-lower-case"),
    pytest.param(" msft ", "MSFT", id="spaces-around"),
    pytest.param("A", "A", id="one-letter"),
    pytest.param("ABCDEFGHIJ", "ABCDEFGHIJ", id="ten-characters"),
    pytest.param("A1B2", "A1B2", id="digits-after-a-letter"),
]  # fmt: skip


@pytest.mark.parametrize(("written", "stored"), TICKERS)
def test_real_tickers_are_accepted_and_stored_upper_case(written: str, stored: str) -> None:
    assert validate_config({"symbols": [written]}).symbols == (stored,)


NOT_TICKERS = [
    pytest.param("ﬀ", id="ligature-ff-would-fold-to-FF"),
    pytest.param("ß", id="sharp-s-would-fold-to-SS"),
    pytest.param("ＡＡＰＬ", id="fullwidth-letters"),
    pytest.param("İBM", id="dotted-capital-i"),
    pytest.param("АAPL", id="cyrillic-a"),
    pytest.param("AAPL\n", id="trailing-newline"),
    pytest.param("A\u00a0B", id="no-break-space"),
    pytest.param("BRK B", id="space-inside"),
    pytest.param("X/Y", id="slash"),
    pytest.param("../etc", id="path"),
    pytest.param("BRK.", id="trailing-dot"),
    pytest.param(".B", id="leading-dot"),
    pytest.param("A..B", id="two-dots"),
    pytest.param("A:-B", id="two-separators"),
    pytest.param("1AB", id="leading-digit"),
    pytest.param("ABCDEFGHIJK", id="eleven-characters"),
    pytest.param("", id="empty"),
    pytest.param("A_B", id="underscore"),
    pytest.param("^GSPC", id="caret"),
]  # fmt: skip


@pytest.mark.parametrize("written", NOT_TICKERS)
def test_anything_else_is_refused_as_written_naming_its_index(written: str) -> None:
    lines = problems({"symbols": ["SPY", written]})
    assert len(lines) == 1
    assert lines[0].startswith(f"symbols[1]: {written!r} is not a ticker (expected 1 to 10 ASCII")


@pytest.mark.parametrize(
    ("value", "kind"),
    [(True, "bool"), (None, "null"), (7, "int"), (1.5, "float"), ([], "list")],
)
def test_a_yaml_value_that_is_not_text_is_not_a_ticker(value: Any, kind: str) -> None:
    (line,) = problems({"symbols": [value]})
    assert line.startswith(f"symbols[0]: {value!r} is not a ticker but a YAML {kind}")


# -- symbols per cycle ---------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "limit"), [(3, 2), (51, 50), (10_001, 10_000)])
def test_more_symbols_than_a_cycle_takes_are_refused_naming_the_limit(
    count: int, limit: int
) -> None:
    symbols = [f"S{i}" for i in range(count)]
    (line,) = problems({"symbols": symbols, "max_symbols_per_cycle": limit})
    assert line.startswith(f"symbols: '{count} tickers' are more than max_symbols_per_cycle ")
    assert f"({limit})" in line


@pytest.mark.parametrize("count", [1, 2, 50])
def test_as_many_symbols_as_a_cycle_takes_are_accepted(count: int) -> None:
    symbols = tuple(f"S{i}" for i in range(count))
    assert validate_config({"symbols": symbols, "max_symbols_per_cycle": count}).symbols == (
        symbols
    )


# -- every number at its bounds: nothing that validates overflows at run time --------------------

# (field as the file nests it, the largest value accepted)
MAXIMA = [
    ("max_symbols_per_cycle", 10_000),
    ("timeout_seconds", 86_400),
    ("stale_after_minutes", 10_080),
    ("late_grace_minutes", 1440),
    ("data_delay_minutes", 1440),
    ("eod_delay_minutes", 1440),
    ("catchup_sessions", 60),
    ("history_sessions", 250),
    ("provider.synthetic_seed", 2**63 - 1),
    ("provider.request_timeout_seconds", 600),
    ("provider.max_retries", 20),
    ("provider.backoff_base_seconds", 3600),
    ("provider.backoff_max_seconds", 3600),
    ("notifications.max_attempts", 20),
    ("notifications.backoff_base_seconds", 3600),
    ("notifications.backoff_max_seconds", 3600),
    ("logging.file.max_bytes", 1024**3),
    ("logging.file.backup_count", 1000),
]


def nest(field: str, value: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    node = raw
    *parents, leaf = field.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return raw


def read(config: SchedulerConfig, field: str) -> Any:
    value: Any = config
    for part in field.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(("field", "largest"), MAXIMA)
def test_each_number_is_accepted_at_its_maximum(field: str, largest: int) -> None:
    assert read(validate_config(nest(field, largest)), field) == largest


@pytest.mark.parametrize(
    "beyond",
    [
        pytest.param(lambda m: m + 1, id="one-more"),
        pytest.param(lambda m: 10**400, id="10-to-the-400"),
        pytest.param(lambda m: "9" * 5000, id="5000-digits-as-text"),
        pytest.param(lambda m: "1e400", id="1e400-as-text"),
        pytest.param(lambda m: float("inf"), id="infinity"),
    ],
)
@pytest.mark.parametrize(("field", "largest"), MAXIMA)
def test_each_number_beyond_its_maximum_is_refused_naming_it(
    field: str, largest: int, beyond: Any
) -> None:
    (line,) = problems(nest(field, beyond(largest)))
    assert line.startswith(f"{field}: ")
    assert len(line) < 300


@pytest.mark.parametrize(
    "field",
    [
        "min_confidence",
        "min_signal_strength",
        "min_alignment",
        "provider.request_timeout_seconds",
        "provider.backoff_base_seconds",
        "notifications.backoff_max_seconds",
    ],
)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "nan", "-inf", "1e400"])
def test_nan_and_infinity_are_refused_where_a_finite_number_is_meant(
    field: str, value: Any
) -> None:
    (line,) = problems(nest(field, value))
    assert line.startswith(f"{field}: ")
    assert "finite number" in line or "greater than" in line


def test_an_interval_of_thousands_of_digits_is_refused_in_our_words() -> None:
    (line,) = problems({"interval": "9" * 5000 + "min"})
    assert line.startswith("interval: '9999")
    assert line.endswith("is longer than a day (expected at most 24h, e.g. 30min, 1h)")


@pytest.mark.parametrize("ticker", ["ﬀ", "ＳＰＹ", "BRK.", "X/Y"])
@pytest.mark.parametrize(
    "argv",
    [
        ("run-once", "--at", "2026-11-20T11:05:00-05:00", "--symbols", "SPY,{ticker}"),
        ("bars", "{ticker}", "--start", "2026-11-20", "--end", "2026-11-20"),
    ],
    ids=["run-once-symbols", "bars-symbol"],
)
def test_the_command_line_applies_the_same_ticker_rule_before_anything_runs(
    tmp_path: Path, argv: tuple[str, ...], ticker: str
) -> None:
    code, out, err = run_dgas(*(part.format(ticker=ticker) for part in argv), "--json")
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    assert f"{ticker!r} is not a ticker" in err
    assert not (tmp_path / ".dagster_home").exists()


@pytest.mark.parametrize("value", [-1, "five", 2.5])
def test_late_grace_minutes_must_be_whole_minutes_from_0(value: Any) -> None:
    (line,) = problems({"late_grace_minutes": value})
    assert line.startswith("late_grace_minutes: ")


def test_late_grace_minutes_defaults_to_5() -> None:
    assert validate_config({}).late_grace_minutes == 5
