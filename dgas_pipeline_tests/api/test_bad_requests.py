"""Requests a careless or hostile client sends, against a live server holding one watchlist:
values of the wrong JSON type, loose query parameters, malformed or ambiguous JSON, bodies over
the size limit (declared or streamed), huge values, and tokens anywhere but the
`Authorization` header. Each is refused with its 4xx naming the field, echoes at most a
shortened value, logs no error or traceback, and leaves every stored column as it was.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dgas_pipeline.api.body import MAX_BODY_BYTES, MAX_JSON_DEPTH
from dgas_pipeline.api.problems import ELLIPSIS, MAX_ECHO
from dgas_pipeline.errors import InvalidInputs
from dgas_pipeline.store.engine import dispose_engine
from dgas_pipeline.watchlists.service import WatchlistCreate, validate
from dgas_pipeline_tests.api.conftest import TOKEN, client_with_core, stored_watchlists

CORE = "/watchlists/core"
HUGE = 400_000  # characters: well under the body limit, far over anything worth echoing
SOCKET_TIMEOUT_S = 30  # a hang guard, not a measured time


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def errors(self) -> list[str]:
        """Errors and tracebacks, which no refused request may cause."""
        return [r.getMessage() for r in self.records if r.levelno >= logging.ERROR or r.exc_info]


@dataclass
class Api:
    client: httpx.Client  # sends the right token
    base_url: str
    db_url: str
    log: _Records  # what uvicorn logged (warnings and up) since the server started


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One server for the module: every case here is refused, so none changes what the next
    one sees (and each checks that). Its log is checked after every case and once more after
    it stopped: uvicorn logs an application's exception after the answer has gone out."""
    db_url = f"sqlite:///{Path(tmp_path_factory.mktemp('bad-requests')) / 'dgas.db'}"
    log = _Records()
    uvicorn_logger = logging.getLogger("uvicorn")
    try:
        with client_with_core(db_url) as client:
            uvicorn_logger.addHandler(log)
            yield Api(client, str(client.base_url).rstrip("/"), db_url, log)
    finally:
        uvicorn_logger.removeHandler(log)
        dispose_engine(db_url)
    assert log.errors() == []


@contextmanager
def refused_quietly(api: Api) -> Iterator[None]:
    """The block changes no stored column and makes the server log no error or traceback."""
    before = stored_watchlists(api.db_url)
    assert [w["name"] for w in before] == ["core"]
    yield
    assert stored_watchlists(api.db_url) == before
    assert api.log.errors() == []


def assert_invalid(
    response: httpx.Response, loc: list[str], field: str, shown: str | None = None
) -> dict[str, Any]:
    """A 422 with one problem, at `loc`, naming `field`, echoing `shown` (if given)."""
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert (problem["loc"], problem["field"]) == (loc, field), problem
    assert problem["msg"].startswith(f"{field}: "), problem
    if shown is not None:
        assert problem["msg"].startswith(f"{field}: {shown} "), problem
    return problem


# -- strict JSON types -----------------------------------------------------------------------

WRONG_TYPES = [
    # (method, path, payload, field, the value as echoed)
    ("PATCH", CORE, {"version": True}, "version", "True"),
    ("PATCH", CORE, {"version": False, "symbols": ["QQQ"]}, "version", "False"),
    ("PATCH", CORE, {"version": "1"}, "version", "'1'"),
    ("PATCH", CORE, {"version": 1.0}, "version", "1.0"),
    ("PATCH", CORE, {"version": 1.5}, "version", "1.5"),
    ("PATCH", CORE, {"version": [1]}, "version", "[1]"),
    ("PATCH", CORE, {"version": 1, "enabled": "yes"}, "enabled", "'yes'"),
    ("PATCH", CORE, {"version": 1, "enabled": "false"}, "enabled", "'false'"),
    ("PATCH", CORE, {"version": 1, "enabled": 0}, "enabled", "0"),
    ("PATCH", CORE, {"version": 1, "schedule": 1545}, "schedule", "1545"),
    ("PATCH", CORE, {"version": 1, "symbols": ["QQQ", 1]}, "symbols[1]", "1"),
    ("POST", "/watchlists", {"name": 1, "symbols": ["SPY"]}, "name", "1"),
    ("POST", "/watchlists", {"name": True, "symbols": ["SPY"]}, "name", "True"),
    ("POST", "/watchlists", {"name": "n", "symbols": [True]}, "symbols[0]", "True"),
    ("POST", "/watchlists", {"name": "n", "symbols": ["SPY"], "enabled": "yes"}, "enabled",
     "'yes'"),
    ("POST", "/watchlists", {"name": "n", "symbols": ["SPY"], "enabled": 1}, "enabled", "1"),
    ("POST", "/watchlists", {"name": "n", "symbols": ["SPY"], "schedule": ["10:00"]}, "schedule",
     "['10:00']"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "payload", "field", "shown"), WRONG_TYPES)
def test_a_json_value_of_the_wrong_type_is_422_naming_its_field(
    api: Api,
    method: str,
    path: str,
    payload: dict[str, Any],
    field: str,
    shown: str,
) -> None:
    with refused_quietly(api):
        response = api.client.request(method, path, json=payload)
    assert_invalid(response, ["body", field], field, shown)


# -- strict query parameters -----------------------------------------------------------------

LOOSE_NUMBERS = ["true", "1.0", "+1", " 1", "1 ", "1_0", "0x1", "1e0", "-1", "１", "١", ""]


@pytest.mark.parametrize("text", LOOSE_NUMBERS)
def test_a_query_number_must_be_plain_digits(api: Api, text: str) -> None:
    with refused_quietly(api):
        response = api.client.delete(CORE, params={"version": text})
    problem = assert_invalid(response, ["query", "version"], "version", repr(text))
    assert "is not a whole number" in problem["msg"]


@pytest.mark.parametrize(
    ("method", "target", "field", "expected"),
    [
        ("DELETE", f"{CORE}?version=1&version=1", "version", "is given 2 times (expected once)"),
        ("DELETE", f"{CORE}?version=1&version=2&version=3", "version", "is given 3 times"),
        ("DELETE", f"{CORE}?force=1", "force", "is not a known query parameter"),
        ("POST", f"{CORE}/stop?now=true", "now", "is not a known query parameter"),
        ("GET", "/watchlists?limit=5", "limit", "is not a known query parameter"),
        ("GET", "/status?verbose", "verbose", "is not a known query parameter"),
        ("GET", f"/watchlists?token={TOKEN}", "token", "is not a known query parameter"),
    ],
)
def test_a_repeated_or_unknown_query_parameter_is_422(
    api: Api,
    method: str,
    target: str,
    field: str,
    expected: str,
) -> None:
    with refused_quietly(api):
        response = api.client.request(method, target)
    problem = assert_invalid(response, ["query", field], field)
    assert expected in problem["msg"]
    assert TOKEN not in response.text


# -- JSON that is not JSON, or means two things ----------------------------------------------

BAD_JSON = [
    # (id, body, what the message says)
    ("not-utf8", b'\xff\xfe{"version": 1}', "is not UTF-8"),
    ("latin1-byte", b'{"version": 1, "schedule": "10:0\xe9"}', "is not UTF-8"),
    ("utf16", '{"version": 1}'.encode("utf-16"), "is not UTF-8"),
    ("utf8-bom", b'\xef\xbb\xbf{"version": 1}', "is not valid JSON"),
    ("truncated", b'{"version": ', "is not valid JSON"),
    ("trailing-comma", b'{"version": 1,}', "is not valid JSON"),
    ("trailing-garbage", b'{"version": 1} {"version": 2}', "is not valid JSON"),
    ("single-quotes", b"{'version': 1}", "is not valid JSON"),
    ("nan", b'{"version": NaN}', "NaN"),
    ("infinity", b'{"version": 1, "symbols": [Infinity]}', "Infinity"),
    ("minus-infinity", b'{"version": -Infinity}', "-Infinity"),
    ("float-overflow", b'{"version": 1e999}', "too large"),
    ("huge-integer", b'{"version": 1' + b"0" * 5000 + b"}", "5001 digits"),
    ("duplicate-key", b'{"version": 1, "version": 2}', "'version' twice"),
    ("duplicate-nested-key", b'{"version": 1, "x": {"a": 1, "a": 1}}', "'a' twice"),
    ("too-deep", b'{"version": 1, "symbols": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
     + b"}", "levels deep"),
    ("stack-deep", b"[" * 200_000 + b"]" * 200_000, "levels deep"),
    ("lone-surrogate", b'{"version": 1, "symbols": ["\\ud800"]}', "lone surrogate"),
    ("surrogate-key", b'{"\\udfff": 1}', "lone surrogate"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), [("PATCH", CORE), ("POST", "/watchlists")])
@pytest.mark.parametrize(("body", "says"), [pytest.param(b, s, id=i) for i, b, s in BAD_JSON])
def test_a_body_that_is_not_strict_json_is_422_naming_body(
    api: Api,
    method: str,
    path: str,
    body: bytes,
    says: str,
) -> None:
    with refused_quietly(api):
        response = api.client.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
    problem = assert_invalid(response, ["body"], "body")
    assert says in problem["msg"]
    assert len(response.content) < 1000


def test_the_depth_limit_is_inclusive(api: Api) -> None:
    """At the limit the body is read; only its meaning is wrong (a list is not a ticker)."""
    nested = b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1)
    with refused_quietly(api):
        response = api.client.patch(
            CORE,
            content=b'{"version": 1, "symbols": ' + nested + b"}",
            headers={"content-type": "application/json"},
        )
    assert_invalid(response, ["body", "symbols[0]"], "symbols[0]")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize(("method", "path"), [("PATCH", CORE), ("POST", "/watchlists")])
def test_a_body_not_sent_as_json_is_422_naming_body(
    api: Api,
    method: str,
    path: str,
    content_type: str | None,
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    payload = json.dumps({"version": 1, "name": "n", "symbols": ["SPY"]}).encode()
    with refused_quietly(api):
        response = api.client.request(method, path, content=payload, headers=headers)
    problem = assert_invalid(response, ["body"], "body")
    assert "Content-Type: application/json" in problem["msg"]


# -- the body size limit ---------------------------------------------------------------------


def _padded(payload: dict[str, Any], size: int) -> bytes:
    """`payload` as JSON of exactly `size` bytes (trailing whitespace is valid JSON)."""
    text = json.dumps(payload).encode()
    return text + b" " * (size - len(text))


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """A generator, so httpx sends the body chunked, without a Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 2 * MAX_BODY_BYTES, 8 * MAX_BODY_BYTES])
def test_a_body_over_the_limit_is_413_naming_the_limit(api: Api, size: int, chunked: bool) -> None:
    body = _padded({"version": 1, "symbols": ["QQQ"]}, size)
    with refused_quietly(api):
        response = api.client.patch(
            CORE,
            content=_chunks(body) if chunked else body,
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413, response.text
    answer = response.json()
    assert (answer["field"], answer["limit_bytes"]) == ("body", MAX_BODY_BYTES)
    assert answer["detail"].startswith("body: ")
    assert f"limit of 1 MiB ({MAX_BODY_BYTES} bytes)" in answer["detail"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_read(api: Api, chunked: bool) -> None:
    """Read and validated (here refused for its schedule), not refused for its size."""
    body = _padded({"version": 1, "schedule": "25:00"}, MAX_BODY_BYTES)
    with refused_quietly(api):
        response = api.client.patch(
            CORE,
            content=_chunks(body) if chunked else body,
            headers={"content-type": "application/json"},
        )
    assert_invalid(response, ["body", "schedule"], "schedule", "'25:00'")


def _raw_request(api: Api, head: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Send `head` (and `body`) over a plain socket, never finishing the body; the answer's
    status and JSON. The server must answer without waiting for the rest."""
    host, _, port = api.base_url.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        head_bytes, _, rest = answer.partition(b"\r\n\r\n")
        lines = head_bytes.decode().split("\r\n")
        length = next(
            int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length")
        )
        while len(rest) < length:
            rest += sock.recv(65536)
    return int(lines[0].split()[1]), json.loads(rest)


def _head(length_header: str) -> str:
    return (
        f"PATCH {CORE} HTTP/1.1\nHost: test\nAuthorization: Bearer {TOKEN}\n"
        f"Content-Type: application/json\n{length_header}\n"
    )


@pytest.mark.parametrize("declared", [MAX_BODY_BYTES + 1, 10 * 2**30, 2**62])
def test_a_declared_length_over_the_limit_is_413_before_any_byte_is_read(
    api: Api, declared: int
) -> None:
    with refused_quietly(api):
        status, answer = _raw_request(api, _head(f"Content-Length: {declared}"), b'{"ver')
    assert (status, answer["field"]) == (413, "body")
    assert answer["detail"].startswith(f"body: {declared} bytes is over the limit of 1 MiB")


@pytest.mark.parametrize("chunk", [64 * 1024, MAX_BODY_BYTES + 1, 1000])
def test_a_chunked_body_is_413_as_soon_as_it_passes_the_limit(api: Api, chunk: int) -> None:
    """Chunks past the limit, the last chunk never sent: the answer cannot wait for the end."""
    count = MAX_BODY_BYTES // chunk + 1
    body = (f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n") * count
    with refused_quietly(api):
        status, answer = _raw_request(api, _head("Transfer-Encoding: chunked"), body)
    assert (status, answer["field"]) == (413, "body")
    assert answer["detail"].startswith(f"body: more than {MAX_BODY_BYTES} bytes")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_without_the_token_a_body_over_the_limit_is_still_401(api: Api, chunked: bool) -> None:
    body = _padded({"version": 1}, 2 * MAX_BODY_BYTES)
    with refused_quietly(api), httpx.Client(base_url=api.base_url) as anonymous:
        response = anonymous.patch(CORE, content=_chunks(body) if chunked else body)
    assert response.status_code == 401


# -- huge values are echoed shortened --------------------------------------------------------

HUGE_VALUES = [
    # (method, target, payload, field, the echo's start)
    ("POST", "/watchlists", {"name": "n" * HUGE, "symbols": ["SPY"]}, "name", "'nnn"),
    ("POST", "/watchlists", {"name": "n", "symbols": ["S" * HUGE]}, "symbols[0]", "'SSS"),
    ("POST", "/watchlists", {"name": "n", "symbols": ["SPY"], "schedule": "9" * HUGE},
     "schedule", "'999"),
    ("POST", "/watchlists", {"name": "n", "symbols": ["SPY"], "enabled": "y" * HUGE},
     "enabled", "'yyy"),
    ("PATCH", CORE, {"version": "1" * HUGE}, "version", "'111"),
    ("PATCH", CORE, {"version": [0] * (HUGE // 3)}, "version", "[0, 0"),
    ("PATCH", CORE, {"version": 1, "symbols": "T" * HUGE}, "symbols", "'TTT"),
    ("GET", f"/watchlists/{'n' * 20_000}", None, "name", "'nnn"),
    ("DELETE", f"{CORE}?version={'9' * 20_000}", None, "version", None),
    ("DELETE", f"{CORE}?version={'x' * 20_000}", None, "version", "'xxx"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "target", "payload", "field", "start"), HUGE_VALUES)
def test_a_huge_value_is_echoed_shortened(
    api: Api,
    method: str,
    target: str,
    payload: dict[str, Any] | None,
    field: str,
    start: str | None,
) -> None:
    with refused_quietly(api):
        response = api.client.request(method, target, json=payload)
    assert response.status_code == 422, response.text[:300]
    assert len(response.content) < 1000
    (problem,) = response.json()["detail"]
    assert problem["field"] == field
    if start is not None:
        prefix = f"{field}: {start}"
        assert problem["msg"].startswith(prefix)
        shown = problem["msg"][len(field) + 2 :].split(f"{ELLIPSIS} ")[0] + ELLIPSIS
        assert len(shown) == MAX_ECHO


def test_a_huge_unknown_key_is_named_shortened(api: Api) -> None:
    key = "k" * HUGE
    with refused_quietly(api):
        response = api.client.patch(CORE, json={"version": 1, key: "secret-looking value"})
    (problem,) = response.json()["detail"]
    assert problem["field"] == "k" * (MAX_ECHO - len(ELLIPSIS)) + ELLIPSIS
    assert problem["loc"] == ["body", problem["field"]]
    assert problem["msg"] == f"{problem['field']}: is not a known field"
    assert "secret-looking value" not in response.text


# -- tickers: the shared validator, through the API ------------------------------------------

TICKERS = [
    "BRK.B", "BF-B", "I:SPX", "spy", " SPY", "SPY\n", "BRK B", "ﬀ", "ß", "ı", "ＳＰＹ", "Ⅻ",
    "ǅ", "A\u0301", "١٢", "K\u212a", "S\x00", "TOOLONGTICKER", "1A",
]  # fmt: skip


@pytest.mark.parametrize("ticker", TICKERS)
def test_tickers_are_judged_by_the_shared_validator(api: Api, ticker: str) -> None:
    """The API accepts exactly the tickers `dgas watchlist` and the config accept, and on a
    refusal gives the validator's own line for `symbols[1]`."""
    symbols = ["SPY", ticker]
    try:
        validate(WatchlistCreate, {"name": "n", "symbols": symbols})
        verdict = None
    except InvalidInputs as err:
        verdict = err.problems
    with refused_quietly(api):
        # A stale version: a valid change is 409, so nothing is stored either way.
        response = api.client.patch(CORE, json={"version": 99, "symbols": symbols})
    if verdict is None:
        assert response.status_code == 409, response.text
        return
    problems = response.json()["detail"]
    assert [p["field"] for p in problems] == [p.field for p in verdict] == ["symbols[1]"]
    assert [p["loc"] for p in problems] == [["body", "symbols[1]"]]
    assert [p["msg"] for p in problems] == [str(p) for p in verdict]


# -- the token: the Authorization header, nowhere else ---------------------------------------

ELSEWHERE: list[tuple[dict[str, str], dict[str, str], dict[str, str]]] = [
    # (query, headers, cookies)
    ({"token": TOKEN}, {}, {}),
    ({"access_token": TOKEN}, {}, {}),
    ({"api_key": TOKEN}, {}, {}),
    ({"Authorization": f"Bearer {TOKEN}"}, {}, {}),
    ({}, {}, {"token": TOKEN}),
    ({}, {}, {"access_token": TOKEN}),
    ({}, {}, {"Authorization": f"Bearer {TOKEN}"}),
    ({}, {"X-API-Token": TOKEN}, {}),
    ({}, {"X-Auth-Token": TOKEN}, {}),
    ({}, {"Proxy-Authorization": f"Bearer {TOKEN}"}, {}),
    ({}, {"Authentication": f"Bearer {TOKEN}"}, {}),
    ({}, {"Authorization": f"Token {TOKEN}"}, {}),
]


@pytest.mark.parametrize(("query", "headers", "cookies"), ELSEWHERE)
def test_a_token_anywhere_but_the_authorization_header_is_401(
    api: Api,
    query: dict[str, str],
    headers: dict[str, str],
    cookies: dict[str, str],
) -> None:
    with (
        refused_quietly(api),
        httpx.Client(base_url=api.base_url, headers=headers, cookies=cookies) as elsewhere,
    ):
        for method, path, payload in [
            ("GET", "/watchlists", None),
            ("POST", "/watchlists", {"name": "intruder", "symbols": ["SPY"]}),
            ("POST", f"{CORE}/stop", None),
            ("DELETE", CORE, None),
        ]:
            response = elsewhere.request(method, path, params=query, json=payload)
            assert response.status_code == 401, (method, path, response.text)
            assert TOKEN not in response.text
