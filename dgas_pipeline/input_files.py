"""Files people hand us (config, overrides, alert rules, watchlist imports), read safely.

Every file a person names goes through this one reader, so each gets the same defences and the
same errors, naming the file option (`field`) and the path or the key path in the file:

- only a regular file is read: a directory, a FIFO (opened non-blocking, so a pipe nobody
  writes to cannot hang us), a device such as /dev/zero or a socket is refused from `fstat`
  of the opened descriptor, and at most `MAX_FILE_BYTES` + 1 bytes are ever read;
- the bytes must be UTF-8 text (a NUL byte means binary or UTF-16);
- `*.json` is JSON, anything else YAML; both are composed into a node graph first and only
  then turned into values, so that what plain `yaml.safe_load` / `json.loads` let through is
  caught with its line: nesting deeper than `MAX_DEPTH`, more than `MAX_VALUES` values once
  YAML aliases are expanded ("billion laughs": sizes are counted per node, in time linear in
  the file, never by expanding), an alias inside itself, a key twice in one mapping (never
  last-one-wins), integers beyond 64 bits, NaN and infinities (`.nan`, `1.0e+400`, JSON
  `NaN`), YAML tags other than the plain types;
- dates stay text, so that `2026-13-01` reaches the model and is reported with its field
  instead of crashing PyYAML's date constructor.
"""

from __future__ import annotations

import bisect
import errno
import json
import json.decoder
import json.scanner
import math
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dgas_pipeline.errors import InvalidInput, InvalidInputs, cut, field_path

MAX_FILE_BYTES: Final = 1024 * 1024
MAX_FILE_SIZE_TEXT: Final = "1 MiB"
MAX_DEPTH: Final = 32
"""Mappings and lists inside each other; our deepest files (alert rules) need about 12."""
MAX_VALUES: Final = 200_000
"""Keys, values and containers in a file, YAML aliases counted expanded."""
MAX_INTEGER: Final = 2**63 - 1

_YAML_TAG: Final = "tag:yaml.org,2002:"
_MAP, _SEQ, _MERGE = f"{_YAML_TAG}map", f"{_YAML_TAG}seq", f"{_YAML_TAG}merge"
_INT, _FLOAT, _TIMESTAMP = f"{_YAML_TAG}int", f"{_YAML_TAG}float", f"{_YAML_TAG}timestamp"
_SCALAR_TAGS: Final = frozenset(
    f"{_YAML_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)
# Longest text of an integer we convert: 19 digits, a sign, a base prefix and a few `_`s
# (YAML 1.1 allows 1_000_000). Longer text is refused before `int()` sees it (it is
# quadratic, and refuses beyond 4,300 digits).
_INT_TEXT_MAX: Final = 40
_NON_BLOCKING: Final = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_UTF8_BOM: Final = b"\xef\xbb\xbf"


def read_mapping(path: str | Path, field: str, expected: str) -> dict[str, Any]:
    """The file's top-level mapping ({} for an empty YAML file); `field` names the file."""
    document = read_document(path, field)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InvalidInput(field, str(path), f"{expected} (found {_kind_of(document)})")
    return document


def read_document(path: str | Path, field: str) -> Any:
    """The value in the file: JSON when it is named `*.json`, YAML otherwise."""
    text = read_text(path, field)
    if Path(path).suffix.lower() == ".json":
        return parse_json(text, field, str(path))
    return parse_yaml(text, field, str(path))


def read_text(path: str | Path, field: str) -> str:
    """The UTF-8 text of a regular file of at most `MAX_FILE_BYTES`; never blocks."""
    shown = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | _NON_BLOCKING)
    except ValueError:  # a NUL character in the name
        raise InvalidInput(field, shown, "is not a file name (it contains a NUL)") from None
    except OSError as err:
        raise InvalidInput(field, shown, _cannot_open(path, err)) from None
    try:
        info = os.fstat(fd)
        kind = _not_a_file(info.st_mode)
        if kind:
            raise InvalidInput(field, shown, f"is {kind}, not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise InvalidInput(field, shown, _too_large(info.st_size))
        data = _read_at_most(fd, MAX_FILE_BYTES + 1)
    except OSError as err:
        raise InvalidInput(field, shown, f"cannot be read ({err.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(field, shown, _too_large(None))
    return _decoded(data, field, shown)


def parse_yaml(text: str, field: str, source: str) -> Any:
    """The value of a YAML document, checked as the module docstring says."""
    try:
        loader = _Loader(text)
        root = loader.get_single_node()
    except _TooDeep as deep:
        raise InvalidInput(field, source, _too_deep(deep.line)) from None
    except yaml.YAMLError as err:
        raise InvalidInput(field, source, _yaml_problem(err, text)) from None
    if root is None:
        return None
    return _Values(field, source, loader.construct_object).of(root)


def parse_json(text: str, field: str, source: str) -> Any:
    """The value of a JSON document, checked as the module docstring says."""
    try:
        root = _JsonComposer(text).compose()
    except _TooDeep as deep:
        raise InvalidInput(field, source, _too_deep(deep.line)) from None
    except json.JSONDecodeError as err:
        raise InvalidInput(
            field, source, f"is not valid JSON at line {err.lineno} ({err.msg})"
        ) from None
    return _Values(field, source, _json_scalar).of(root)


# -- reading bytes -------------------------------------------------------------------------------


def _cannot_open(path: str | Path, err: OSError) -> str:
    if err.errno == errno.ENXIO:  # a socket (or a device without its driver)
        try:
            kind = _not_a_file(os.stat(path).st_mode)
        except OSError:
            kind = None
        if kind:
            return f"is {kind}, not a regular file"
    return f"cannot be read ({err.strerror})"


def _not_a_file(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _too_large(size: int | None) -> str:
    found = f" ({size:,} bytes)" if size is not None else ""
    return f"is larger than the {MAX_FILE_SIZE_TEXT} limit for files we read{found}"


def _decoded(data: bytes, field: str, source: str) -> str:
    data = data.removeprefix(_UTF8_BOM)
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise InvalidInput(field, source, f"is binary, not UTF-8 text (a NUL byte at line {line})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InvalidInput(
            field,
            source,
            f"is not UTF-8 text (byte 0x{data[err.start]:02x} at line {line}; "
            "save the file as UTF-8)",
        ) from None


# -- composing -----------------------------------------------------------------------------------


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _too_deep(line: int) -> str:
    return f"nests deeper than {MAX_DEPTH} levels (at line {line}; the limit is {MAX_DEPTH})"


class _DepthLimited(yaml.composer.Composer):
    """PyYAML's composer, stopped past `MAX_DEPTH` nested collections.

    The composer recurses once per level: stopping it there also keeps a file of a million
    `[` from reaching Python's recursion limit.
    """

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        opens = self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent)
        if opens:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            if opens:
                self._depth -= 1


def _text_date(constructor: SafeConstructor, node: Node) -> Any:
    return constructor.construct_scalar(node)  # type: ignore[arg-type]


class _PyLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    _DepthLimited,
    SafeConstructor,
    yaml.resolver.Resolver,
):
    """`yaml.SafeLoader` with the depth limit and dates as text."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _DepthLimited.__init__(self)
        SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


_PyLoader.add_constructor(_TIMESTAMP, _text_date)
_Loader: Callable[[str], Any] = _PyLoader

if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _CLoader(_DepthLimited, CParser, SafeConstructor, yaml.resolver.Resolver):  # type: ignore[misc]
        """The same, parsing with libyaml (five times faster); composing stays ours."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _DepthLimited.__init__(self)
            SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _CLoader.add_constructor(_TIMESTAMP, _text_date)
    _Loader = _CLoader


def _yaml_problem(err: yaml.YAMLError, text: str) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is not None:
        line = mark.line + 1
    elif isinstance(err, yaml.reader.ReaderError):
        line = text.count("\n", 0, err.position) + 1
    else:
        line = 1
    problem = getattr(err, "problem", None) or getattr(err, "reason", None) or ""
    if "nesting depth" in problem:  # libyaml's own limit (1,000) may come first
        return _too_deep(line)
    return f"is not valid YAML at line {line}" + (f" ({cut(problem, 120)})" if problem else "")


class _JsonScalar(ScalarNode):
    """A JSON scalar as a YAML node: its value is already parsed (`python`)."""

    def __init__(self, python: Any, mark: yaml.Mark) -> None:
        super().__init__("json", "", mark, mark)
        self.python = python


class _Unreadable:
    """A JSON number we refuse to convert; `reason` says why."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason


def _json_int(text: str) -> int | _Unreadable:
    if len(text) > _INT_TEXT_MAX:
        return _Unreadable(text, _TOO_BIG)
    return int(text)


def _json_float(text: str) -> float | _Unreadable:
    value = float(text)
    return value if math.isfinite(value) else _Unreadable(text, _NOT_FINITE)


def _json_constant(text: str) -> _Unreadable:  # NaN, Infinity, -Infinity
    return _Unreadable(text, _NOT_FINITE)


class _JsonComposer:
    """JSON into the node graph `_Values` reads, with lines and a depth limit.

    Uses the standard library's pure-Python scanner with our own object and array steps, so
    every value knows where it starts and a duplicate key survives to be reported.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._newlines = [i for i, char in enumerate(text) if char == "\n"]
        self._depth = 0
        self.strict = True
        self.parse_float = _json_float
        self.parse_int = _json_int
        self.parse_constant = _json_constant
        self.parse_string = json.decoder.scanstring
        self.object_hook = None
        self.object_pairs_hook = list
        self.memo: dict[str, str] = {}
        self.parse_object = self._object
        self.parse_array = self._array
        self._scan = json.scanner.py_make_scanner(self)

    def compose(self) -> Node:
        whitespace = json.decoder.WHITESPACE.match
        start = whitespace(self.text, 0).end()
        try:
            value, end = self._scan(self.text, start)
        except StopIteration as stop:
            raise json.JSONDecodeError("Expecting value", self.text, stop.value) from None
        end = whitespace(self.text, end).end()
        if end != len(self.text):
            raise json.JSONDecodeError("Extra data", self.text, end)
        return self._node(value, start)

    def _object(
        self,
        s_and_end: tuple[str, int],
        strict: bool,
        scan_once: Callable[[str, int], tuple[Any, int]],
        object_hook: Any,
        object_pairs_hook: Any,
        memo: dict[str, str],
    ) -> tuple[Node, int]:
        start = s_and_end[1] - 1
        starts, scan = self._recording(scan_once, start)
        try:
            pairs, end = json.decoder.JSONObject(
                s_and_end, strict, scan, object_hook, object_pairs_hook, memo
            )
        finally:
            self._depth -= 1
        value = [
            (_JsonScalar(key, self._mark(at)), self._node(item, at))
            for (key, item), at in zip(pairs, starts, strict=True)
        ]
        return MappingNode(_MAP, value, self._mark(start), self._mark(end)), end

    def _array(
        self, s_and_end: tuple[str, int], scan_once: Callable[[str, int], tuple[Any, int]]
    ) -> tuple[Node, int]:
        start = s_and_end[1] - 1
        starts, scan = self._recording(scan_once, start)
        try:
            items, end = json.decoder.JSONArray(s_and_end, scan)
        finally:
            self._depth -= 1
        value = [self._node(item, at) for item, at in zip(items, starts, strict=True)]
        return SequenceNode(_SEQ, value, self._mark(start), self._mark(end)), end

    def _recording(
        self, scan_once: Callable[[str, int], tuple[Any, int]], start: int
    ) -> tuple[list[int], Callable[[str, int], tuple[Any, int]]]:
        """Enter a level; a scanner that notes where each value of the level starts."""
        self._depth += 1
        if self._depth > MAX_DEPTH:
            self._depth -= 1
            raise _TooDeep(self._line(start))
        starts: list[int] = []

        def scan(text: str, at: int) -> tuple[Any, int]:
            starts.append(at)
            return scan_once(text, at)

        return starts, scan

    def _node(self, value: Any, at: int) -> Node:
        return value if isinstance(value, Node) else _JsonScalar(value, self._mark(at))

    def _mark(self, at: int) -> yaml.Mark:
        return yaml.Mark("json", at, self._line(at) - 1, 0, None, None)

    def _line(self, at: int) -> int:
        return bisect.bisect_left(self._newlines, at) + 1


def _json_scalar(node: Node) -> Any:
    return node.python  # type: ignore[attr-defined]


# -- from nodes to values ------------------------------------------------------------------------

_TOO_BIG: Final = f"is too large a number to use (expected at most {MAX_INTEGER})"
_NOT_FINITE: Final = "is not a finite number (NaN and infinity are not allowed)"


class _Values:
    """The plain value of a composed node graph (dicts, lists, text, numbers, bools, None).

    Two passes. `_measure` counts each node's values and nesting once, memoised by node, so an
    alias costs nothing to count and a bomb is refused before anything is built. `_build` then
    builds each node once; an alias shares the object its anchor built, as PyYAML does.
    """

    def __init__(self, field: str, source: str, construct: Callable[[Node], Any]) -> None:
        self.field = field
        self.source = source
        self._construct = construct
        self._measured: dict[int, tuple[int, int]] = {}
        self._open: set[int] = set()
        self._built: dict[int, Any] = {}
        self.problems: list[InvalidInput] = []

    def of(self, root: Node) -> Any:
        """The value; `InvalidInputs` naming every key path refused (a bomb: the file)."""
        self._measure(root)
        value = self._build(root, ())
        if self.problems:
            raise InvalidInputs(self.problems)
        return value

    def _measure(self, node: Node) -> tuple[int, int]:
        """(values, nesting) of `node` with aliases expanded."""
        key = id(node)
        if key in self._measured:
            return self._measured[key]
        if key in self._open:
            raise InvalidInput(
                self.field, self.source, f"has a YAML alias inside itself (line {_line(node)})"
            )
        if isinstance(node, ScalarNode):
            self._measured[key] = (1, 0)
            return 1, 0
        self._open.add(key)
        children = (
            [child for pair in node.value for child in pair]
            if isinstance(node, MappingNode)
            else node.value
        )
        size, height = 1, 0
        for child in children:
            child_size, child_height = self._measure(child)
            size += child_size
            height = max(height, child_height)
            if size > MAX_VALUES:
                raise InvalidInput(
                    self.field,
                    self.source,
                    f"holds more than {MAX_VALUES:,} values, YAML aliases counted expanded "
                    f"(at line {_line(node)}; the limit is {MAX_VALUES:,})",
                )
        if height + 1 > MAX_DEPTH:  # only aliases can get here: the composer stops deeper
            raise InvalidInput(self.field, self.source, _too_deep(_line(node)))
        self._open.discard(key)
        self._measured[key] = (size, height + 1)
        return self._measured[key]

    def _build(self, node: Node, path: tuple[str | int, ...]) -> Any:
        key = id(node)
        if key in self._built:
            return self._built[key]
        value: Any = None
        if isinstance(node, ScalarNode):
            value = self._scalar(node, path)
        elif not self._plain_tag(node, path):
            pass
        elif isinstance(node, SequenceNode):
            value = [self._build(child, (*path, i)) for i, child in enumerate(node.value)]
        else:
            value = self._mapping(node, path)
        self._built[key] = value
        return value

    def _mapping(self, node: MappingNode, path: tuple[str | int, ...]) -> dict[Any, Any]:
        lines: dict[Any, int] = {}
        pairs: list[tuple[Any, Node]] = []
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node, path))
                continue
            if not isinstance(key_node, ScalarNode):
                kind = "a mapping" if isinstance(key_node, MappingNode) else "a list"
                self._refuse(
                    path, f"<{kind} as a key>", "is not a valid key (expected text)", key_node
                )
                continue
            key = self._scalar(key_node, path)
            if key is None and key_node.tag != f"{_YAML_TAG}null":
                continue  # refused above
            if key in lines:
                self._refuse(
                    (*path, _part(key)),
                    key,
                    f"is a duplicate key (first at line {lines[key]}); a key may appear once "
                    "in a mapping",
                    key_node,
                )
                continue
            lines[key] = _line(key_node)
            pairs.append((key, value_node))
        result: dict[Any, Any] = {}
        # YAML merge keys: the first mapping listed wins over later ones, and the mapping's own
        # keys over all of them.
        for source in reversed(merged):
            result.update(self._build(source, path) or {})
        for key, value_node in pairs:
            result[key] = self._build(value_node, (*path, _part(key)))
        return result

    def _merge_sources(self, node: Node, path: tuple[str | int, ...]) -> list[Node]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        if all(isinstance(source, MappingNode) for source in sources):
            return list(sources)
        self._refuse(
            (*path, "<<"), "<<", "must name a mapping or a list of mappings to merge", node
        )
        return []

    def _scalar(self, node: ScalarNode, path: tuple[str | int, ...]) -> Any:
        """The value of `node`, or None after recording why it is refused."""
        if isinstance(node, _JsonScalar):
            value = node.python
            if isinstance(value, _Unreadable):
                return self._refuse(path, value.text, value.reason, node)
        else:
            if node.tag not in _SCALAR_TAGS:
                return self._refuse(
                    path,
                    node.tag.replace(_YAML_TAG, "!!"),
                    "is a YAML tag these files do not use (expected plain text, numbers, "
                    "true/false or null)",
                    node,
                )
            if node.tag == _INT and len(node.value) > _INT_TEXT_MAX:
                return self._refuse(path, node.value, _TOO_BIG, node)
            value = self._construct(node)
            if node.tag == _FLOAT and not math.isfinite(value):
                return self._refuse(path, node.value, _NOT_FINITE, node)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
            return self._refuse(path, value, _TOO_BIG, node)
        return value

    def _plain_tag(self, node: Node, path: tuple[str | int, ...]) -> bool:
        if node.tag == (_SEQ if isinstance(node, SequenceNode) else _MAP):
            return True
        self._refuse(
            path,
            str(node.tag).replace(_YAML_TAG, "!!"),
            "is a YAML tag these files do not use (expected plain mappings and lists)",
            node,
        )
        return False

    def _refuse(self, path: tuple[str | int, ...], value: Any, why: str, node: Node) -> None:
        self.problems.append(InvalidInput(self._where(path), value, f"{why} (line {_line(node)})"))

    def _where(self, path: tuple[str | int, ...]) -> str:
        return field_path("", path) or self.field


def _part(key: Any) -> str:
    return key if isinstance(key, str) else str(key)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    return f"a {type(value).__name__}"
