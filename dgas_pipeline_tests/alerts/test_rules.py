"""Rule files: the published schema, the model, and `dgas alerts validate | schema`.

Every invalid file is rejected with exit 2 and exactly the line a person needs: the path in
the file, the value found, what was expected. The command runs in an empty directory so no
developer's ./dgas.yaml leaks in.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from dgas_pipeline.alerts.rules import (
    OPS,
    AllOf,
    Comparison,
    EnvelopeIndicator,
    NotOf,
    RangeComparison,
    rule_file_schema,
)
from dgas_pipeline.alerts.validation import (
    SCHEMA_RESOURCE,
    parse_rule_file,
    published_schema,
    schema_text,
)
from dgas_pipeline.cli.main import main

REFERENCE_EXAMPLE = """\
alerts:
  - name: spy-breakout
    symbols: [SPY]
    timeframe: 30min
    when:
      all:
        - {field: close, op: crosses_above, ref: {indicator: {type: envelope, output: upper}}}
        - {not: {field: volume, op: lt, value: 100000}}
    rearm: {cooldown_minutes: 120, hysteresis: 0.25, persistence_bars: 1}
    channels: [console]
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DGAS_CONFIG", raising=False)


def dgas(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the schema ----------------------------------------------------------------------------------


def test_the_shipped_schema_file_is_the_schema_of_the_model() -> None:
    shipped = resources.files("dgas_pipeline.alerts").joinpath(SCHEMA_RESOURCE)
    assert shipped.read_text("utf-8") == schema_text(rule_file_schema()), (
        "schema.json is out of date: run python -m dgas_pipeline.alerts.validation"
    )
    assert published_schema() == rule_file_schema()


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(published_schema())


def test_the_reference_example_is_valid_against_the_schema_and_the_model(tmp_path: Path) -> None:
    from dgas_pipeline.alerts.validation import load_rule_file

    rules = load_rule_file(write(tmp_path, REFERENCE_EXAMPLE))
    rule = rules.alerts[0]
    assert (rule.name, rule.symbols, rule.timeframe_label) == ("spy-breakout", ["SPY"], "30min")
    assert isinstance(rule.when.root, AllOf)
    crossing, negation = (c.root for c in rule.when.root.all)
    assert isinstance(crossing, Comparison) and crossing.op == "crosses_above"
    assert crossing.ref is not None and isinstance(crossing.ref.indicator, EnvelopeIndicator)
    assert crossing.ref.indicator.column == "env_upper"
    assert isinstance(negation, NotOf)
    assert (rule.rearm.cooldown_minutes, rule.rearm.hysteresis) == (120, 0.25)
    assert rule.channels == ["console"]


def test_a_json_rule_file_is_read_as_json(tmp_path: Path) -> None:
    from dgas_pipeline.alerts.validation import load_rule_file

    document = {
        "alerts": [
            {
                "name": "q",
                "symbols": ["QQQ"],
                "timeframe": "1h",
                "when": {"field": "close", "op": "between", "values": [1e2, 2e2]},
            }
        ]
    }
    rules = load_rule_file(write(tmp_path, json.dumps(document), "rules.json"))
    comparison = rules.alerts[0].when.root
    assert isinstance(comparison, RangeComparison) and comparison.values == (100.0, 200.0)


def test_the_operators_are_listed_crossings_first() -> None:
    assert OPS[:2] == ("crosses_above", "crosses_below")
    assert set(OPS) == {
        *("gt", "gte", "lt", "lte", "eq", "ne"),
        *("between", "outside", "crosses_above", "crosses_below"),
    }


def test_dgas_alerts_schema_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = dgas(capsys, "alerts", "schema")
    assert (code, err) == (0, "")
    assert json.loads(out) == published_schema()
    code, out, _ = dgas(capsys, "alerts", "schema", "--json")
    assert json.loads(out) == published_schema()


def test_dgas_alerts_validate_a_good_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, REFERENCE_EXAMPLE)
    code, out, err = dgas(capsys, "alerts", "validate", str(path), "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "valid": True,
        "file": str(path),
        "alerts": [
            {
                "name": "spy-breakout",
                "symbols": ["SPY"],
                "timeframe": "30min",
                "channels": ["console"],
            }
        ],
    }
    code, out, _ = dgas(capsys, "alerts", "validate", str(path))
    assert (code, out) == (0, f"{path}: valid, 1 rule(s): spy-breakout\n")


# -- invalid files: exit 2, one precise line per problem ------------------------------------------

GOOD_FIELDS = {
    "name": "name: spy-breakout",
    "symbols": "symbols: [SPY]",
    "timeframe": "timeframe: 30min",
    "when": "when: {field: close, op: crosses_above, value: 400}",
}


def rule_lines(**changes: str) -> str:
    """One rule as a YAML list item: the good fields with some replaced ("" drops one)."""
    fields = [text for text in {**GOOD_FIELDS, **changes}.values() if text]
    return "  - " + "\n    ".join(fields) + "\n"


def rule_with(**changes: str) -> str:
    return "alerts:\n" + rule_lines(**changes)


GOOD_RULE = rule_lines()


INVALID_FILES = [
    pytest.param(
        REFERENCE_EXAMPLE.replace("op: crosses_above", "op: crosses_sideways"),
        [
            "alerts[0].when.all[0].op: 'crosses_sideways' is not one of crosses_above, "
            "crosses_below, gt, gte, lt, lte, eq, ne, between, outside"
        ],
        id="unknown-operator",
    ),
    pytest.param(
        REFERENCE_EXAMPLE.replace("op: lt", "op: crosses_sideways"),
        [
            "alerts[0].when.all[1].not.op: 'crosses_sideways' is not one of crosses_above, "
            "crosses_below, gt, gte, lt, lte, eq, ne, between, outside"
        ],
        id="unknown-operator-under-not",
    ),
    pytest.param(
        rule_with(when="when: {field: price, op: gt, value: 1}"),
        ["alerts[0].when.field: 'price' is not one of open, high, low, close, volume"],
        id="unknown-field",
    ),
    pytest.param(
        rule_with(when="when: {op: gt, value: 1}"),
        [
            'alerts[0].when: {"op": "gt", "value": 1} needs exactly one of field, '
            "indicator (found none)"
        ],
        id="no-left-side",
    ),
    pytest.param(
        rule_with(when="when: {field: close, indicator: {type: pldot}, op: gt, value: 1}"),
        [
            'alerts[0].when: {"field": "close", "indicator": {"type": "pldot"}, "op": "g… '
            "needs exactly one of field, indicator (found field and indicator)"
        ],
        id="two-left-sides",
    ),
    pytest.param(
        rule_with(when="when: {field: close, op: gt}"),
        [
            'alerts[0].when: {"field": "close", "op": "gt"} needs exactly one of value, ref '
            "(found none)"
        ],
        id="no-right-side",
    ),
    pytest.param(
        rule_with(when="when: {field: close, op: between, values: [110, 100]}"),
        ["alerts[0].when.values: [110, 100] has lo above hi (expected [lo, hi] with lo <= hi)"],
        id="between-lo-above-hi",
    ),
    pytest.param(
        rule_with(when="when: {field: close, op: outside, values: [100]}"),
        ["alerts[0].when.values: [100] must list exactly 2 items (expected [lo, hi], lo <= hi)"],
        id="outside-one-bound",
    ),
    pytest.param(
        rule_with(when="when: {field: close, op: between, value: 100}"),
        [
            "alerts[0].when.value: 100 is not a known field "
            "(expected one of field, indicator, op, values)",
            "alerts[0].when.values: None is required but missing",
        ],
        id="between-with-value",
    ),
    pytest.param(
        rule_with(when="when: {field: close, op: gt, ref: {indicator: {type: rsi}}}"),
        [
            "alerts[0].when.ref.indicator.type: 'rsi' is not one of "
            "pldot, envelope, lines, state, pattern"
        ],
        id="unknown-indicator",
    ),
    pytest.param(
        rule_with(
            when="when: {field: close, op: gt, ref: {indicator: {type: envelope, output: mid}}}"
        ),
        ["alerts[0].when.ref.indicator.output: 'mid' is not one of upper, lower, width, position"],
        id="unknown-indicator-output",
    ),
    pytest.param(
        rule_with(
            when="when: {indicator: {type: envelope, output: upper, "
            "params: {envelope_period: 1}}, op: gt, value: 1}"
        ),
        [
            "alerts[0].when.indicator.params.envelope_period: 1 is too short for "
            "envelope_method pldot_range (expected >= 2: it is a standard deviation)"
        ],
        id="indicator-params-contradict",
    ),
    pytest.param(
        rule_with(when="when: {all: []}"),
        ["alerts[0].when.all: [] must list at least 1 item"],
        id="empty-all",
    ),
    pytest.param(
        rule_with(when="when: {}"),
        [
            "alerts[0].when: {} matches no form (expected {all: [...]}, {any: [...]}, "
            "{not: ...} or a comparison {field|indicator, op, ...})"
        ],
        id="empty-condition",
    ),
    pytest.param(
        rule_with(when="when: {field: close, operator: gt, value: 1}"),
        [
            "alerts[0].when.op: None is required but missing (expected one of crosses_above, "
            "crosses_below, gt, gte, lt, lte, eq, ne, between, outside)"
        ],
        id="misspelt-op-key",
    ),
    pytest.param(
        rule_with(when="when: {field: volume, op: gt, value: 1e5}"),
        ["alerts[0].when.value: '1e5' is not a number"],
        id="yaml-1e5-is-text",
    ),
    pytest.param(
        rule_with(name="name: spy breakout"),
        [
            "alerts[0].name: 'spy breakout' does not match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ "
            "(expected 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit)"
        ],
        id="name-with-a-space",
    ),
    pytest.param(
        rule_with(name=""),
        ["alerts[0].name: None is required but missing"],
        id="missing-name",
    ),
    pytest.param(
        "alerts:\n" + GOOD_RULE + GOOD_RULE,
        ["alerts[1].name: 'spy-breakout' is already the name of alerts[0] (expected unique names)"],
        id="duplicate-names",
    ),
    pytest.param(
        rule_with(symbols="symbols: [SPY, QQQ, SPY]"),
        ["alerts[0].symbols[2]: 'SPY' is listed twice (also alerts[0].symbols[0])"],
        id="duplicate-symbol",
    ),
    pytest.param(
        rule_with(symbols="symbols: [spy]"),
        [
            "alerts[0].symbols[0]: 'spy' does not match ^[A-Z][A-Z0-9]*(?:[.:-][A-Z0-9]+)*$ "
            "(expected an upper-case ticker, e.g. SPY, BRK.B or I:SPX)"
        ],
        id="lower-case-ticker",
    ),
    pytest.param(
        rule_with(timeframe="timeframe: 48h"),
        ["alerts[0].timeframe: '48h' is longer than a day (expected at most 24h, e.g. 30min, 1h)"],
        id="timeframe-over-a-day",
    ),
    pytest.param(
        rule_with(timeframe="timeframe: 15min"),
        [
            "alerts[0].timeframe: '15min' is not a multiple of the bar interval 30min "
            "(bars of a rule are built from the configured bars)"
        ],
        id="timeframe-finer-than-the-bars",
    ),
    pytest.param(
        rule_with(rearm="rearm: {cooldown_minutes: -5, persistence_bars: 0}"),
        [
            "alerts[0].rearm.cooldown_minutes: -5 must be >= 0",
            "alerts[0].rearm.persistence_bars: 0 must be >= 1",
        ],
        id="negative-cooldown-and-zero-persistence",
    ),
    pytest.param(
        rule_with(rearm="rearm: {cooldown: 5}"),
        [
            "alerts[0].rearm.cooldown: 5 is not a known field "
            "(expected one of cooldown_minutes, hysteresis, persistence_bars)"
        ],
        id="misspelt-rearm-key",
    ),
    pytest.param(
        rule_with(rearm="rearm: {hysteresis: .nan}"),
        [
            "alerts[0].rearm.hysteresis: '.nan' is not a finite number "
            "(NaN and infinity are not allowed) (line 6)"
        ],
        id="nan-hysteresis",
    ),
    pytest.param(
        rule_with(channels="channels: [telegram]"),
        ["alerts[0].channels[0]: 'telegram' is not a configured channel (expected one of console)"],
        id="unconfigured-channel",
    ),
    pytest.param(
        "alert:\n" + GOOD_RULE,
        [
            'alert: [{"name": "spy-breakout", "symbols": ["SPY"], "timeframe": … '
            "is not a known field (expected one of $schema, alerts)",
            "alerts: None is required but missing",
        ],
        id="misspelt-top-level-key",
    ),
]


@pytest.mark.parametrize(("text", "expected"), INVALID_FILES)
def test_an_invalid_rule_file_is_rejected_with_its_path_and_value(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = write(tmp_path, text)
    code, out, err = dgas(capsys, "alerts", "validate", str(path))
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"dgas: {line}" for line in expected]


def test_there_are_at_least_fifteen_invalid_files() -> None:
    assert len(INVALID_FILES) >= 15


def test_a_file_that_is_not_yaml_names_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "alerts:\n  - name: [unclosed\n")
    code, _, err = dgas(capsys, "alerts", "validate", str(path))
    assert code == 2
    assert err == (
        f"dgas: rules_file: '{path}' is not valid YAML at line 3 "
        "(did not find expected ',' or ']')\n"
    )


def test_a_missing_file_is_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = dgas(capsys, "alerts", "validate", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert err.startswith(f"dgas: rules_file: '{tmp_path / 'nope.yaml'}' cannot be read")


def test_json_problems_have_the_same_paths(tmp_path: Path) -> None:
    from dgas_pipeline.alerts.validation import load_rule_file
    from dgas_pipeline.errors import InvalidInput

    document = json.loads(json.dumps({"alerts": [{"name": "x", "symbols": ["SPY"]}]}))
    with pytest.raises(InvalidInput) as raised:
        load_rule_file(write(tmp_path, json.dumps(document), "rules.json"))
    assert raised.value.lines == [
        "alerts[0].timeframe: None is required but missing",
        "alerts[0].when: None is required but missing",
    ]


def test_the_model_refuses_what_the_schema_refuses() -> None:
    from dgas_pipeline.errors import InvalidInput

    with pytest.raises(InvalidInput, match=r"alerts\[0\]\.when\.all\[1\]\.op"):
        parse_rule_file(
            {
                "alerts": [
                    {
                        "name": "x",
                        "symbols": ["SPY"],
                        "timeframe": "1h",
                        "when": {
                            "all": [
                                {"field": "close", "op": "gt", "value": 1},
                                {"field": "close", "op": "crosses_sideways", "value": 1},
                            ]
                        },
                    }
                ]
            }
        )


# -- rule files as an attacker writes them: refused before the schema sees them -------------------


def _json_rule(**changes: object) -> str:
    rule = {"name": "r", "symbols": ["SPY"], "timeframe": "30min",
            "when": {"field": "close", "op": "gt", "value": 1}, **changes}  # fmt: skip
    return json.dumps({"alerts": [rule]})


def _nested_not(levels: int) -> str:
    return "{not: " * levels + "{field: close, op: gt, value: 1}" + "}" * levels


HOSTILE_RULES = [
    pytest.param("rules.yaml", rule_with(when="when: {field: close, op: gt, op: lt, value: 1}"),
                 "alerts[0].when.op: 'op' is a duplicate key (first at line 5); a key may appear "
                 "once in a mapping (line 5)", id="yaml-duplicate-op"),
    pytest.param("rules.json", _json_rule().replace('"name": "r"', '"name": "r", "name": "s"'),
                 "alerts[0].name: 'name' is a duplicate key (first at line 1); a key may appear "
                 "once in a mapping (line 1)", id="json-duplicate-name"),
    pytest.param("rules.json", _json_rule(when={"field": "close", "op": "gt", "value": 1})
                 .replace('"value": 1}', '"value": NaN}'),
                 "alerts[0].when.value: 'NaN' is not a finite number (NaN and infinity are not "
                 "allowed) (line 1)", id="json-nan-threshold"),
    pytest.param("rules.yaml", rule_with(when="when: {field: close, op: gt, value: -.inf}"),
                 "alerts[0].when.value: '-.inf' is not a finite number (NaN and infinity are not "
                 "allowed) (line 5)", id="yaml-minus-infinity-threshold"),
    pytest.param("rules.yaml", rule_with(rearm="rearm: {persistence_bars: 1" + "0" * 30 + "}"),
                 "alerts[0].rearm.persistence_bars: 1" + "0" * 30 + " is too large a number to "
                 "use (expected at most 9223372036854775807) (line 6)", id="yaml-huge-count"),
    pytest.param("rules.yaml", rule_with(when=f"when: {_nested_not(40)}"),
                 "rules_file: '{path}' nests deeper than 32 levels (at line 5; the limit is 32)",
                 id="forty-nested-nots"),
    pytest.param("rules.yaml", rule_with(symbols="symbols: [!!binary U1BZ]"),
                 "alerts[0].symbols[0]: '!!binary' is a YAML tag these files do not use "
                 "(expected plain text, numbers, true/false or null) (line 3)", id="binary-tag"),
    pytest.param("rules.yaml", rule_with(symbols="symbols: [ﬀ]"),
                 "alerts[0].symbols[0]: 'ﬀ' does not match ^[A-Z][A-Z0-9]*(?:[.:-][A-Z0-9]+)*$ "
                 "(expected an upper-case ticker, e.g. SPY, BRK.B or I:SPX)",
                 id="ligature-ticker"),
    pytest.param("rules.yaml", rule_with(symbols="symbols: [ABCDEFGHIJK]"),
                 "alerts[0].symbols[0]: 'ABCDEFGHIJK' is longer than 10 characters",
                 id="eleven-character-ticker"),
]  # fmt: skip


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("name", "text", "expected"), HOSTILE_RULES)
def test_a_hostile_rule_file_is_refused_with_the_path_in_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = write(tmp_path, text, name)
    code, out, err = dgas(capsys, "alerts", "validate", str(path))
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"dgas: {expected.format(path=path)}"]


@pytest.mark.parametrize("symbol", ["I:SPX", "BRK.B", "BF-B", "ABCDEFGHIJ"])
def test_every_real_ticker_is_accepted_in_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, symbol: str
) -> None:
    path = write(tmp_path, rule_with(symbols=f'symbols: ["{symbol}"]'))
    code, _, err = dgas(capsys, "alerts", "validate", str(path))
    assert code == 0, err
