"""Checking a rule file against the published JSON Schema, with errors a person can act on.

Two passes. First the shipped `schema.json`, with `jsonschema`: this is the contract users'
editors and CI check against, so the CLI must reject exactly what it rejects. Then the
pydantic model, for what a schema cannot say (lo <= hi, unique rule names, a timeframe
parse, indicator parameters that contradict each other). Either way every problem becomes
one `InvalidInput` line: the path in the file, the value found and what was expected,

    alerts[0].when.all[1].op: 'crosses_sideways' is not one of crosses_above, crosses_below, …

jsonschema reports a failed `oneOf` as "not valid under any of the given schemas", which
helps nobody. So a failed union is explained through the branch the person meant: by its
`discriminator` when the schema has one (comparisons by `op`, indicators by `type`),
otherwise by the branch sharing the most keys with what was written (`all`, `any`, `not` or
a comparison), and only then is that branch's own error reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jsonschema
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import ValidationError

from dgas_pipeline.alerts.rules import (
    ALL_TAG,
    ANY_TAG,
    COMPARISON_TAG,
    NOT_TAG,
    RuleFile,
    rule_file_schema,
)
from dgas_pipeline.errors import InvalidInput, InvalidInputs, field_path
from dgas_pipeline.input_files import read_mapping
from dgas_pipeline.market.intervals import format_interval

SCHEMA_RESOURCE: Final = "schema.json"
FILE_FIELD: Final = "rules_file"
_TAGS: Final = frozenset({ALL_TAG, ANY_TAG, NOT_TAG, COMPARISON_TAG})
_TYPE_NAMES: Final = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "null",
}
_SHOWN_MAX: Final = 60


def load_rule_file(path: str | Path) -> RuleFile:
    """The rules in a YAML or JSON file (`.json` is read as JSON, anything else as YAML)."""
    kind = "a JSON object" if Path(path).suffix.lower() == ".json" else "a mapping"
    return parse_rule_file(read_mapping(path, FILE_FIELD, f"must be {kind} with an alerts list"))


def parse_rule_file(document: Any) -> RuleFile:
    """Validate a parsed file; `InvalidInputs` lists every problem, in file order."""
    problems = schema_problems(document)
    if problems:
        raise InvalidInputs(problems)
    try:
        return RuleFile.model_validate(document)
    except ValidationError as err:
        raise InvalidInputs(model_problems(err, document)) from None


def check_rule_file(
    rules: RuleFile, *, interval: timedelta, channels: Sequence[str] | None = None
) -> None:
    """What only the deployment can tell: timeframes it can build, channels it has.

    A rule's timeframe is resampled from the configured bar interval, so it must be a
    multiple of it; channels must be configured notification channels (`None`: don't check).
    """
    problems: list[InvalidInput] = []
    for i, rule in enumerate(rules.alerts):
        if rule.timeframe_delta % interval:
            problems.append(
                InvalidInput(
                    f"alerts[{i}].timeframe",
                    rule.timeframe,
                    f"is not a multiple of the bar interval {format_interval(interval)} "
                    "(bars of a rule are built from the configured bars)",
                )
            )
        if channels is None:
            continue
        for j, name in enumerate(rule.channels or []):
            if name not in channels:
                problems.append(
                    InvalidInput(
                        f"alerts[{i}].channels[{j}]",
                        name,
                        f"is not a configured channel (expected one of {', '.join(channels)})",
                    )
                )
    if problems:
        raise InvalidInputs(problems)


def load_checked_rule_file(
    path: str | Path, *, interval: timedelta, channels: Sequence[str]
) -> RuleFile:
    """A rule file valid in itself and for this deployment (bar interval, channels): what
    `dgas config validate`, `dgas alerts validate` and the `alerts` asset each require."""
    rules = load_rule_file(path)
    check_rule_file(rules, interval=interval, channels=channels)
    return rules


# -- the published schema --------------------------------------------------------------------


@cache
def published_schema() -> dict[str, Any]:
    """The schema shipped in the package (`dgas alerts schema` prints it)."""
    text = resources.files("dgas_pipeline.alerts").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_text(schema: dict[str, Any] | None = None) -> str:
    """The schema as the shipped file spells it (stable key order, two-space indent)."""
    return json.dumps(rule_file_schema() if schema is None else schema, indent=2) + "\n"


def write_schema(path: Path | None = None) -> Path:
    """Regenerate `schema.json` from the model (run after changing `rules.py`)."""
    target = path or Path(__file__).with_name(SCHEMA_RESOURCE)
    target.write_text(schema_text(), encoding="utf-8")
    published_schema.cache_clear()
    _validator.cache_clear()
    return target


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(published_schema())


def schema_problems(document: Any) -> list[InvalidInput]:
    """Every way `document` breaks the published schema, one line each, in file order."""
    validator = _validator()
    problems: list[InvalidInput] = []
    errors = sorted(validator.iter_errors(document), key=lambda e: _order(e.absolute_path))
    for error in errors:
        problems.extend(_explain(error, validator.schema))
    return _unique(problems)


def _explain(error: SchemaError, root: dict[str, Any]) -> Iterator[InvalidInput]:
    path = list(error.absolute_path)
    where = field_path("", path)
    kind, expected, instance = error.validator, error.validator_value, error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind in ("oneOf", "anyOf"):
        yield from _explain_union(error, root)
    elif kind == "required":
        for name in expected:
            if isinstance(instance, dict) and name not in instance:
                yield InvalidInput(field_path(where, [name]), None, "is required but missing")
    elif kind == "additionalProperties":
        known = list(schema.get("properties", {}))
        for name in instance:
            if name not in known:
                yield InvalidInput(
                    field_path(where, [name]),
                    _shown(instance[name]),
                    f"is not a known field (expected one of {', '.join(known)})",
                )
    elif kind == "enum":
        yield InvalidInput(where, _shown(instance), f"is not one of {_listed(expected)}")
    elif kind == "const":
        yield InvalidInput(where, _shown(instance), f"is not {expected!r}")
    elif kind == "type":
        wanted = [expected] if isinstance(expected, str) else list(expected)
        names = " or ".join(_TYPE_NAMES.get(t, t) for t in wanted)
        yield InvalidInput(where, _shown(instance), f"is not {names}")
    elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">"}.get(kind, "<")
        yield InvalidInput(where, instance, f"must be {sign} {expected}")
    elif kind in ("minItems", "maxItems"):
        yield InvalidInput(where, _shown(instance), _count_expectation(schema) + _described(schema))
    elif kind == "uniqueItems":
        seen: dict[str, int] = {}
        for i, item in enumerate(instance):
            key = json.dumps(item, sort_keys=True, default=str)
            if key in seen:
                yield InvalidInput(
                    field_path(where, [i]),
                    _shown(item),
                    f"is listed twice (also {field_path(where, [seen[key]])})",
                )
            seen.setdefault(key, i)
    elif kind == "pattern":
        yield InvalidInput(where, instance, f"does not match {expected}{_described(schema)}")
    elif kind == "minLength":
        yield InvalidInput(where, instance, "must not be empty")
    elif kind == "maxLength":
        yield InvalidInput(where, instance, f"is longer than {expected} characters")
    else:  # a keyword this schema does not use today: jsonschema's own words
        yield InvalidInput(where, _shown(instance), error.message)


def _explain_union(error: SchemaError, root: dict[str, Any]) -> Iterator[InvalidInput]:
    """Report a failed oneOf/anyOf through the branch the person meant."""
    where = field_path("", list(error.absolute_path))
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    branches = [_resolve(b, root) for b in error.validator_value]

    if all(set(b) == {"required"} and len(b["required"]) == 1 for b in branches):
        # "exactly one of these keys": a left side (field / indicator) or a right side.
        names = [b["required"][0] for b in branches]
        given = [n for n in names if isinstance(instance, dict) and n in instance]
        found = " and ".join(given) if given else "none"
        yield InvalidInput(
            where, _shown(instance), f"needs exactly one of {', '.join(names)} (found {found})"
        )
        return

    chosen: int | None = None
    discriminator = schema.get("discriminator")
    if isinstance(instance, dict) and discriminator:
        prop = discriminator["propertyName"]
        allowed = [[*_tag_values(b, prop, root)] for b in branches]
        everything = [v for values in allowed for v in values]
        if prop not in instance:
            yield InvalidInput(
                field_path(where, [prop]),
                None,
                f"is required but missing (expected one of {_listed(everything)})",
            )
            return
        for i, values in enumerate(allowed):
            if instance[prop] in values:
                chosen = i
        if chosen is None:
            yield InvalidInput(
                field_path(where, [prop]),
                _shown(instance[prop]),
                f"is not one of {_listed(everything)}",
            )
            return
    elif isinstance(instance, dict):
        scores = [len(_keys(b, root) & set(instance)) for b in branches]
        if max(scores, default=0) > 0:
            chosen = scores.index(max(scores))

    if chosen is None:
        what = str(schema.get("description") or "one of the forms the schema allows").rstrip(".")
        yield InvalidInput(where, _shown(instance), f"matches no form (expected {what})")
        return
    inner = [e for e in error.context or [] if e.relative_schema_path[0] == chosen]
    if not inner:  # valid under the chosen branch and another: the schema is ambiguous here
        yield InvalidInput(where, _shown(instance), "matches more than one form")
        return
    for sub in sorted(inner, key=lambda e: _order(e.absolute_path)):
        yield from _explain(sub, root)


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            break
        schema = root["$defs"][ref.removeprefix("#/$defs/")]
    return schema if isinstance(schema, dict) else {}


def _keys(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    """The property names a branch knows (through nested unions)."""
    keys = set(schema.get("properties", {}))
    for union in ("oneOf", "anyOf"):
        for branch in schema.get(union, []):
            keys |= _keys(_resolve(branch, root), root)
    return keys


def _tag_values(schema: dict[str, Any], prop: str, root: dict[str, Any]) -> Iterator[Any]:
    spec = _resolve(schema.get("properties", {}).get(prop, {}), root)
    if "const" in spec:
        yield spec["const"]
    yield from spec.get("enum", [])


# -- pydantic's second pass ------------------------------------------------------------------


def model_problems(err: ValidationError, document: Any) -> list[InvalidInput]:
    """Pydantic's errors with paths as the file spells them (union tags dropped)."""
    problems: list[InvalidInput] = []
    for e in err.errors(include_url=False):
        raised = (e.get("ctx") or {}).get("error")
        if isinstance(raised, InvalidInput):  # a validator that knows the exact path
            problems.extend(raised.problems if isinstance(raised, InvalidInputs) else [raised])
            continue
        if e["type"] == "none_required":
            continue  # the `None` member of an optional field: the other member's error says it
        message = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "finite_number":
            message = "must be a finite number"
        problems.append(InvalidInput(_file_path(e["loc"], document), _shown(e["input"]), message))
    return _unique(problems)


def _file_path(loc: Iterable[str | int], document: Any) -> str:
    """Walk the document along pydantic's location, dropping the parts the file lacks.

    Those are union tags: ours (`comparison`, `all()`), a discriminator's value (the `op` or
    indicator `type` found at that point) and member names below a scalar (`float`).
    """
    kept: list[str | int] = []
    node = document
    for part in loc:
        if _has(node, part):
            node = node[part]
        elif part in _TAGS or not isinstance(node, dict | list | tuple):
            continue
        elif isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue  # pydantic's validator and union wrappers
        elif isinstance(node, dict) and part in {node.get("op"), node.get("type")}:
            continue
        kept.append(part)
    return field_path("", kept)


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node)


# -- small helpers ---------------------------------------------------------------------------


class _Shown:
    """A mapping or list in a message: compact JSON, cut short (the file has the rest)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        text = json.dumps(self.value, default=str, ensure_ascii=False)
        return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Shown) and self.value == other.value

    def __hash__(self) -> int:
        return hash(repr(self))


def _shown(value: Any) -> Any:
    return _Shown(value) if isinstance(value, dict | list | tuple) else value


def _listed(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _described(schema: dict[str, Any]) -> str:
    description = schema.get("description")
    return f" (expected {description})" if description else ""


def _count_expectation(schema: dict[str, Any]) -> str:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None and low == high:
        return f"must list exactly {low} item{'s' if low != 1 else ''}"
    if high is not None and low is None:
        return f"must list at most {high} items"
    if high is not None:
        return f"must list {low} to {high} items"
    return f"must list at least {low} item{'s' if low != 1 else ''}"


def _order(path: Iterable[Any]) -> tuple[tuple[int, Any], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in path)


def _unique(problems: list[InvalidInput]) -> list[InvalidInput]:
    seen: set[str] = set()
    kept = []
    for problem in problems:
        if str(problem) not in seen:
            seen.add(str(problem))
            kept.append(problem)
    return kept


if __name__ == "__main__":  # pragma: no cover - `python -m dgas_pipeline.alerts.validation`
    print(write_schema())
