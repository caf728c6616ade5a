"""The one reader of files people hand us: what it refuses, how it names it, that it never hangs.

Real files throughout: a FIFO made with `os.mkfifo` (nobody writes to it: a reader that
waited for a writer would hang, which the timeout turns into a failure), `/dev/zero` (a
reader that read it whole would never end), a bound Unix socket, real directories, sparse
files bigger than the cap. The second half runs the four commands that read such files
(`dgas config validate`, `dgas alerts validate`, `dgas plan --overrides`, `dgas watchlist
import`) over the same hostile files: exit 2, the file option or the key path named, the value
cut short, no traceback, nothing stored.
"""

from __future__ import annotations

import os
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from dgas_pipeline.errors import SHOWN_MAX, InvalidInput
from dgas_pipeline.input_files import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_INTEGER,
    MAX_VALUES,
    parse_json,
    parse_yaml,
    read_document,
    read_mapping,
)
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline.watchlists.service import WatchlistService
from dgas_pipeline_tests.deployment import isolate, run_dgas

FIELD = "config"
# A line of ours names a field (at most 160 characters), shows a value (at most 80) and says
# what was expected (at most 400): whatever the file held, a line stays this short.
LINE_MAX = 700


def problem(read: Callable[[], object]) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        read()
    for line in raised.value.lines:
        assert len(line) < LINE_MAX, line
    return raised.value


def yaml_problem(text: str) -> InvalidInput:
    return problem(lambda: parse_yaml(text, FIELD, "f.yaml"))


def json_problem(text: str) -> InvalidInput:
    return problem(lambda: parse_json(text, FIELD, "f.json"))


# -- what is not a regular file --------------------------------------------------------------


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.yaml")
    return tmp / "pipe.yaml"


def _directory(tmp: Path) -> Path:
    (tmp / "conf.d").mkdir()
    return tmp / "conf.d"


def _socket(tmp: Path) -> Iterator[Path]:
    path = tmp / "s.yaml"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        yield path


def _link_to_zero(tmp: Path) -> Path:
    (tmp / "zero.yaml").symlink_to("/dev/zero")
    return tmp / "zero.yaml"


def _link_loop(tmp: Path) -> Path:
    (tmp / "a.yaml").symlink_to(tmp / "b.yaml")
    (tmp / "b.yaml").symlink_to(tmp / "a.yaml")
    return tmp / "a.yaml"


def _over_the_cap(tmp: Path) -> Path:
    path = tmp / "big.yaml"
    path.write_bytes(b"a: " + b"x" * (MAX_FILE_BYTES - 3) + b"\n")  # one byte too many
    return path


def _sparse_gigabyte(tmp: Path) -> Path:
    path = tmp / "sparse.yaml"
    with path.open("wb") as f:
        f.truncate(1 << 30)
    return path


NOT_REGULAR = [
    pytest.param(_fifo, "is a named pipe (FIFO), not a regular file", id="fifo"),
    pytest.param(_directory, "is a directory, not a regular file", id="directory"),
    pytest.param(lambda tmp: Path("/dev/zero"), "is a device, not a regular file", id="dev-zero"),
    pytest.param(lambda tmp: Path("/dev/null"), "is a device, not a regular file", id="dev-null"),
    pytest.param(lambda tmp: Path("/dev/urandom"), "is a device", id="dev-urandom"),
    pytest.param(_link_to_zero, "is a device, not a regular file", id="symlink-to-dev-zero"),
    pytest.param(_socket, "is a socket, not a regular file", id="unix-socket"),
    pytest.param(lambda tmp: tmp / "missing.yaml", "cannot be read (No such file or directory)",
                 id="missing"),
    pytest.param(_link_loop, "cannot be read (Too many levels of symbolic links)",
                 id="symlink-loop"),
    pytest.param(_over_the_cap, "is larger than the 1 MiB limit", id="one-byte-over-1-mib"),
    pytest.param(_sparse_gigabyte, "is larger than the 1 MiB limit", id="sparse-1-gib"),
    pytest.param(lambda tmp: tmp / "a\0b.yaml", "is not a file name (it contains a NUL)",
                 id="nul-in-the-name"),
]  # fmt: skip


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("make", "expected"), NOT_REGULAR)
def test_only_a_regular_file_under_the_cap_is_read(
    tmp_path: Path, make: Callable[[Path], object], expected: str
) -> None:
    made = make(tmp_path)
    paths = made if isinstance(made, Iterator) else iter([made])
    path = next(paths)
    err = problem(lambda: read_document(path, FIELD))
    assert (err.field, err.value) == (FIELD, str(path))
    assert expected in str(err)


def test_a_file_of_exactly_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "full.yaml"
    path.write_bytes(b"a: " + b"x" * (MAX_FILE_BYTES - 4) + b"\n")
    assert len(read_document(path, FIELD)["a"]) == MAX_FILE_BYTES - 4


# -- bytes that are not UTF-8 text ---------------------------------------------------------------

ENCODINGS = [
    pytest.param(b"a: 1\n\0\n", "is binary, not UTF-8 text (a NUL byte at line 2)", id="nul-byte"),
    pytest.param("a: café\n".encode("utf-16"), "is binary", id="utf-16"),
    pytest.param("a: café\n".encode("latin-1"), "is not UTF-8 text (byte 0xe9 at line 1",
                 id="latin-1"),
    pytest.param(b"\x89PNG\r\n\x1a\n", "is not UTF-8 text (byte 0x89 at line 1", id="png"),
    pytest.param(b"a: 1\nb: \xed\xa0\x80\n", "is not UTF-8 text (byte 0xed at line 2",
                 id="utf-8-encoded-surrogate"),
    pytest.param(b"a: \x01\n", "is not valid YAML at line 1", id="control-character"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "expected"), ENCODINGS)
def test_text_must_be_utf_8(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(data)
    err = problem(lambda: read_document(path, FIELD))
    assert (err.field, err.value) == (FIELD, str(path))
    assert expected in str(err)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_utf_8_byte_order_mark_is_accepted(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"f{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"a": "caf\xc3\xa9"}')
    assert read_document(path, FIELD) == {"a": "café"}


# -- nesting ---------------------------------------------------------------------------------------


def _block(levels: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(levels - 1)) + "  " * levels + "x\n"


def _block_mapping(levels: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(levels)) + "  " * levels + "v: 1\n"


DEEP = [
    pytest.param("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), 1, id="yaml-flow-33"),
    pytest.param("[" * 100_000 + "]" * 100_000, 1, id="yaml-flow-100000"),
    pytest.param("{a: " * 40 + "1" + "}" * 40, 1, id="yaml-flow-mappings"),
    pytest.param(_block_mapping(MAX_DEPTH), MAX_DEPTH + 1, id="yaml-block-33"),
    pytest.param("a: &a " + "[" * 20 + "]" * 20 + "\nb: " + "[" * 20 + "*a" + "]" * 20 + "\n",
                 2, id="yaml-alias-nested-in-20-more"),
]  # fmt: skip


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("text", "line"), DEEP)
def test_yaml_nested_deeper_than_the_limit_is_refused_with_its_line(text: str, line: int) -> None:
    err = yaml_problem(text)
    assert (err.field, err.value) == (FIELD, "f.yaml")
    assert f"nests deeper than {MAX_DEPTH} levels (at line {line}" in str(err)


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), id="json-arrays-33"),
        pytest.param('{"a": ' * 33 + "1" + "}" * 33, id="json-objects-33"),
        pytest.param("[" * 1_000_000, id="json-a-million-open-brackets"),
    ],
)
def test_json_nested_deeper_than_the_limit_is_refused(text: str) -> None:
    err = json_problem(text)
    assert (err.field, err.value) == (FIELD, "f.json")
    assert f"nests deeper than {MAX_DEPTH} levels" in str(err)


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        pytest.param(parse_yaml, "[" * MAX_DEPTH + "]" * MAX_DEPTH, id="yaml-flow-32"),
        pytest.param(parse_yaml, _block_mapping(MAX_DEPTH - 1), id="yaml-block-32"),
        pytest.param(parse_json, "[" * MAX_DEPTH + "]" * MAX_DEPTH, id="json-32"),
    ],
)
def test_nesting_up_to_the_limit_is_read(parse: Callable[..., object], text: str) -> None:
    assert parse(text, FIELD, "f") is not None


# -- alias bombs ("billion laughs") ---------------------------------------------------------------


def _laughs(levels: int, width: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _merge_laughs(levels: int) -> str:
    lines = ["m0: &m0 {" + ", ".join(f"k{j}: {j}" for j in range(50)) + "}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i} {{a: *m{i - 1}, b: *m{i - 1}, c: *m{i - 1}, <<: *m{i - 1}}}")
    return "\n".join(lines) + "\n"


BOMBS = [
    pytest.param(_laughs(9), "holds more than", id="billion-laughs"),
    pytest.param(_laughs(30, width=2), "holds more than", id="two-wide-thirty-deep"),
    pytest.param(_merge_laughs(20), "holds more than", id="mapping-laughs-with-merge-keys"),
    pytest.param("a: &a [*a]\n", "has a YAML alias inside itself", id="list-contains-itself"),
    pytest.param("a: &a {b: *a}\n", "has a YAML alias inside itself", id="mapping-contains-itself"),
    pytest.param("a: &a {<<: *a}\n", "has a YAML alias inside itself", id="merges-itself"),
]  # fmt: skip


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("text", "expected"), BOMBS)
def test_alias_bombs_are_refused_without_expanding_them(text: str, expected: str) -> None:
    tracemalloc.start()
    try:
        err = yaml_problem(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (err.field, err.value) == (FIELD, "f.yaml")
    assert expected in str(err)
    assert peak < 20 * 1024 * 1024, f"{peak:,} bytes to refuse a {len(text):,}-character file"


def test_too_many_values_without_aliases_are_refused() -> None:
    err = json_problem("[" + ",".join(["1"] * MAX_VALUES) + "]")
    assert f"holds more than {MAX_VALUES:,} values" in str(err)


def test_aliases_within_the_budget_are_shared_and_merge_keys_apply() -> None:
    text = "base: &b {x: 1, y: 2}\nlist: &l [1, 2]\nd: {<<: *b, y: 3}\ne: *l\nf: *l\n"
    value = parse_yaml(text, FIELD, "f.yaml")
    assert value["d"] == {"x": 1, "y": 3}  # the mapping's own key wins over the merged one
    assert value["e"] == value["f"] == [1, 2]


# -- duplicate keys -------------------------------------------------------------------------------

DUPLICATES = [
    pytest.param(parse_yaml, "a: 1\nb: 2\na: 3\n", "a", "a", 1, 3, id="yaml-top-level"),
    pytest.param(parse_yaml, "calendar:\n  exchange: XNYS\n  exchange: XLON\n",
                 "calendar.exchange", "exchange", 2, 3, id="yaml-nested"),
    pytest.param(parse_yaml, "alerts:\n  - name: a\n    when: {op: gt, op: lt}\n",
                 "alerts[0].when.op", "op", 3, 3, id="yaml-in-a-list-item"),
    pytest.param(parse_yaml, "on: 1\ntrue: 2\n", "True", True, 1, 2,
                 id="yaml-on-and-true-are-one-key"),
    pytest.param(parse_yaml, "1: a\n1.0: b\n", "1.0", 1.0, 1, 2, id="yaml-1-and-1.0"),
    pytest.param(parse_json, '{"a": 1,\n "a": 2}', "a", "a", 1, 2, id="json-top-level"),
    pytest.param(parse_json, '{"w": [{"n": 1},\n {"n": 2,\n "n": 3}]}', "w[1].n", "n", 2, 3,
                 id="json-nested-in-a-list"),
]  # fmt: skip


@pytest.mark.parametrize(("parse", "text", "field", "key", "first", "again"), DUPLICATES)
def test_a_key_twice_is_an_error_naming_its_path_and_lines_never_last_one_wins(
    parse: Callable[..., object],
    text: str,
    field: str,
    key: object,
    first: int,
    again: int,
) -> None:
    err = problem(lambda: parse(text, FIELD, "f"))
    assert (err.field, err.value) == (field, key)
    assert f"is a duplicate key (first at line {first})" in str(err)
    assert str(err).endswith(f"(line {again})")


def test_every_duplicate_and_bad_number_is_reported_in_one_pass() -> None:
    err = yaml_problem("a: 1\na: 2\nb: .nan\nc: {d: 1, d: 2}\n")
    assert [line.split(":")[0] for line in err.lines] == ["a", "b", "c.d"]


def test_a_duplicate_long_key_is_shown_cut_short() -> None:
    key = "k" * 100_000
    err = json_problem(f'{{"{key}": 1, "{key}": 2}}')
    (line,) = err.lines
    assert line.startswith("k" * 100) and "…" in line
    assert len(line) < LINE_MAX


# -- numbers -----------------------------------------------------------------------------------

TOO_LARGE = f"is too large a number to use (expected at most {MAX_INTEGER})"
NOT_FINITE = "is not a finite number (NaN and infinity are not allowed)"

NUMBERS = [
    pytest.param(parse_yaml, "n: 1" + "0" * 400, "n", TOO_LARGE, id="yaml-10-to-the-400"),
    pytest.param(parse_yaml, "n: " + "9" * 5000, "n", TOO_LARGE, id="yaml-5000-digits"),
    pytest.param(parse_yaml, f"n: {MAX_INTEGER + 1}", "n", TOO_LARGE, id="yaml-2-to-the-63"),
    pytest.param(parse_yaml, f"n: -{MAX_INTEGER + 1}", "n", TOO_LARGE, id="yaml-minus-2-to-the-63"),
    pytest.param(parse_yaml, "n: 0x" + "f" * 40, "n", TOO_LARGE, id="yaml-long-hex"),
    pytest.param(parse_yaml, "n: " + ":".join(["59"] * 50_000), "n", TOO_LARGE,
                 id="yaml-sexagesimal-bomb"),
    pytest.param(parse_yaml, "n: 1.0e+400", "n", NOT_FINITE, id="yaml-float-overflow"),
    pytest.param(parse_yaml, "n: [.nan]", "n[0]", NOT_FINITE, id="yaml-nan"),
    pytest.param(parse_yaml, "n: .NaN", "n", NOT_FINITE, id="yaml-NaN"),
    pytest.param(parse_yaml, "n: .inf", "n", NOT_FINITE, id="yaml-inf"),
    pytest.param(parse_yaml, "n: -.Inf", "n", NOT_FINITE, id="yaml-minus-inf"),
    pytest.param(parse_json, '{"n": 1' + "0" * 400 + "}", "n", TOO_LARGE, id="json-10-to-the-400"),
    pytest.param(parse_json, '{"n": ' + "9" * 5000 + "}", "n", TOO_LARGE, id="json-5000-digits"),
    pytest.param(parse_json, '{"n": 1e400}', "n", NOT_FINITE, id="json-1e400"),
    pytest.param(parse_json, '{"n": -1E+999}', "n", NOT_FINITE, id="json-minus-1e999"),
    pytest.param(parse_json, '{"n": [1, NaN]}', "n[1]", NOT_FINITE, id="json-NaN"),
    pytest.param(parse_json, '{"n": Infinity}', "n", NOT_FINITE, id="json-Infinity"),
    pytest.param(parse_json, '{"n": -Infinity}', "n", NOT_FINITE, id="json-minus-Infinity"),
]  # fmt: skip


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("parse", "text", "field", "expected"), NUMBERS)
def test_numbers_we_cannot_use_are_refused_naming_their_key(
    parse: Callable[..., object], text: str, field: str, expected: str
) -> None:
    err = problem(lambda: parse(text, FIELD, "f"))
    assert err.field == field
    assert expected in str(err)
    assert str(err).endswith("(line 1)")


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (parse_yaml, f"n: {MAX_INTEGER}", MAX_INTEGER),
        (parse_yaml, f"n: -{MAX_INTEGER}", -MAX_INTEGER),
        (parse_yaml, "n: 1e400", "1e400"),  # YAML 1.1: no dot, so text (the model decides)
        (parse_json, f'{{"n": {MAX_INTEGER}}}', MAX_INTEGER),
        (parse_json, '{"n": 1.5e300}', 1.5e300),
    ],
)
def test_numbers_within_range_are_read(
    parse: Callable[..., dict[str, object]], text: str, value: object
) -> None:
    assert parse(text, FIELD, "f")["n"] == value


# -- YAML tags ----------------------------------------------------------------------------------

TAGS = [
    pytest.param("a: !!binary aGVsbG8=", "a", "!!binary", id="binary"),
    pytest.param("a: !!python/object/apply:os.system [echo]", "a",
                 "!!python/object/apply:os.system", id="python-object"),
    pytest.param("a: !!set {x, y}", "a", "!!set", id="set"),
    pytest.param("a: !!omap [x: 1]", "a", "!!omap", id="omap"),
    pytest.param("a: !secret value", "a", "!secret", id="custom-scalar-tag"),
    pytest.param("a: !env {name: X}", "a", "!env", id="custom-mapping-tag"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "field", "tag"), TAGS)
def test_yaml_tags_other_than_the_plain_types_are_refused(text: str, field: str, tag: str) -> None:
    err = yaml_problem(text)
    assert (err.field, err.value) == (field, tag)
    assert "is a YAML tag these files do not use" in str(err)


def test_dates_stay_text_for_the_model_to_check() -> None:
    assert parse_yaml("d: 2026-13-01\ne: 2026-12-08", FIELD, "f") == {
        "d": "2026-13-01",
        "e": "2026-12-08",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("? [a]\n: 1\n", "'<a list as a key>' is not a valid key", id="list-key"),
        pytest.param("a: 1\n---\nb: 2\n", "is not valid YAML at line 2", id="two-documents"),
        pytest.param("a: [1\n", "is not valid YAML at line 2", id="unclosed"),
        pytest.param("a: *nope\n", "is not valid YAML at line 1", id="unknown-alias"),
    ],
)
def test_malformed_yaml_is_refused_with_its_line(text: str, expected: str) -> None:
    assert expected in str(yaml_problem(text))


def test_a_top_level_that_is_not_a_mapping_is_named(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text("[1, 2]", encoding="utf-8")
    err = problem(lambda: read_mapping(path, FIELD, "must be a mapping"))
    assert str(err) == f"config: '{path}' must be a mapping (found a list)"


# -- the commands that read such files ------------------------------------------------------------

COMMANDS = {
    "config": (("config", "validate", "{file}"), "config"),
    "alerts": (("alerts", "validate", "{file}"), "rules_file"),
    "overrides": (("plan", "--start", "2026-11-23", "--end", "2026-11-27", "--overrides",
                   "{file}"), "overrides"),
    "import": (("watchlist", "import", "{file}"), "watchlists_file"),
}  # fmt: skip


def _write(text: str | bytes, name: str = "f.yaml") -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return make


# (how to make the file, the field the first line names, a piece of it)
HOSTILE = [
    pytest.param(_fifo, None, "named pipe", id="fifo"),
    pytest.param(_directory, None, "is a directory", id="directory"),
    pytest.param(lambda tmp: Path("/dev/zero"), None, "is a device", id="dev-zero"),
    pytest.param(_over_the_cap, None, "1 MiB", id="over-1-mib"),
    pytest.param(_write(b"\x00\x01\x02"), None, "is binary", id="binary"),
    pytest.param(_write("a: 1\n".encode("utf-16")), None, "is binary", id="utf-16"),
    pytest.param(_write(_block(40)), None, "nests deeper than 32 levels", id="deep-yaml"),
    pytest.param(_write("[" * 50 + "]" * 50, "f.json"), None, "nests deeper", id="deep-json"),
    pytest.param(_write(_laughs(9)), None, "holds more than", id="billion-laughs"),
    pytest.param(_write("a: 1\na: 2\n"), "a", "is a duplicate key", id="duplicate-yaml-key"),
    pytest.param(_write('{"a": 1, "a": 2}', "f.json"), "a", "duplicate", id="duplicate-json-key"),
    pytest.param(_write("a: 1" + "0" * 400 + "\n"), "a", "too large", id="10-to-the-400"),
    pytest.param(_write("a: " + "7" * 100_000 + "\n"), "a", "…", id="100000-digits-cut-short"),
    pytest.param(_write("a: .nan\n"), "a", "not a finite number", id="nan"),
    pytest.param(_write('{"a": -Infinity}', "f.json"), "a", "not a finite", id="json-infinity"),
    pytest.param(_write("a: !!python/name:os.system ''\n"), "a", "YAML tag", id="python-tag"),
]  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Path:
    """An empty working directory, no DAGSTER_HOME yet, a database holding one watchlist."""
    isolate(tmp_path, monkeypatch)
    monkeypatch.setenv("DGAS_DATABASE_URL", sqlite_url)
    ensure_schema(sqlite_url)
    WatchlistService(make_engine(sqlite_url)).add({"name": "core", "symbols": ["SPY"]})
    return tmp_path


def stored(root: Path) -> list[tuple[object, ...]]:
    with make_engine(f"sqlite:///{root / 'dgas.db'}").connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(tables.watchlists))]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(("make", "field", "piece"), HOSTILE)
def test_every_command_refuses_a_hostile_file_naming_it_and_stores_nothing(
    workdir: Path,
    command: str,
    make: Callable[[Path], Path],
    field: str | None,
    piece: str,
) -> None:
    path = make(workdir)
    argv, file_field = COMMANDS[command]
    before = stored(workdir)
    code, out, err = run_dgas(*(part.format(file=path) for part in argv), "--json")
    assert (code, out) == (2, ""), err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines, err
    assert lines[0].startswith(f"dgas: {field or file_field}: "), lines[0]
    assert piece in lines[0]
    assert all(len(line) < LINE_MAX for line in lines)
    if field is None:  # the file itself is named, by the path it was given as
        assert str(path)[: SHOWN_MAX - 2] in lines[0]
    assert stored(workdir) == before
    assert not (workdir / "dagster_home").exists()
