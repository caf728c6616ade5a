"""Bad REST requests, as a careless client or an attacker sends them, against the API served on
the prepared instance's database: each refused with its 4xx naming the field (or `body`,
`Authorization`, `path`, `method`), a short answer, no traceback in it or in the server's log,
nothing stored changed, and `dgas status` fine after on that instance.

api/test_bad_requests.py has the API's own table (wrong JSON types, loose query parameters,
malformed JSON, the body limit, tokens outside the header); the cases here are other values
from a user's point of view, through the same live server and the same checks as the CLI's.
"""

from __future__ import annotations

import pytest

from dgas_pipeline_tests.api.conftest import TOKEN
from dgas_pipeline_tests.reliability.bad_input import Api, Case, Scene, cases

CORE = "/watchlists/core"
MIB = 1024 * 1024
LONG = "x" * 100_000
NEW = {"name": "n", "symbols": ["SPY"]}
JSON = {"Content-Type": "application/json"}
ANONYMOUS = {"Authorization": None}


def raw(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


CASES = cases("rest", [
    # -- strict JSON types: what the client wrote, not what it could be read as -----------------
    ("post-enabled-the-string-true", ("POST", "/watchlists", {**NEW, "enabled": "true"}, {}),
     "enabled", "is not a boolean"),
    ("post-name-a-list", ("POST", "/watchlists", {**NEW, "name": ["core"]}, {}), "name"),
    ("post-symbols-a-string", ("POST", "/watchlists", {**NEW, "symbols": "SPY,QQQ"}, {}),
     "symbols", "must be a list"),
    ("post-symbols-an-object", ("POST", "/watchlists", {**NEW, "symbols": {"0": "SPY"}}, {}),
     "symbols"),
    ("post-a-symbol-a-list", ("POST", "/watchlists", {**NEW, "symbols": [["SPY"]]}, {}),
     "symbols[0]", "is not a ticker"),
    ("patch-version-1e0", ("PATCH", CORE, raw('{"version": 1e0}'), JSON), "version",
     "is not a whole number"),
    ("patch-version-null", ("PATCH", CORE, {"version": None}, {}), "version",
     "is not a whole number"),
    ("patch-schedule-true", ("PATCH", CORE, {"version": 1, "schedule": True}, {}), "schedule",
     "is not a schedule"),
    ("delete-version-true", ("DELETE", f"{CORE}?version=true", None, {}), "version",
     "is not a whole number"),
    ("delete-version-a-fraction", ("DELETE", f"{CORE}?version=1.0", None, {}), "version",
     "is not a whole number"),
    ("delete-version-hex", ("DELETE", f"{CORE}?version=0x1", None, {}), "version",
     "is not a whole number"),
    # -- values --------------------------------------------------------------------------------
    ("post-symbol-cyrillic-look-alike", ("POST", "/watchlists", {**NEW, "symbols": ["АAPL"]}, {}),
     "symbols[0]", "is not a ticker"),
    ("post-symbol-ligature", ("POST", "/watchlists", {**NEW, "symbols": ["SPY", "ﬀ"]}, {}),
     "symbols[1]", "is not a ticker"),
    ("post-schedule-before-the-open", ("POST", "/watchlists", {**NEW, "schedule": "09:15"}, {}),
     "schedule", "outside the XNYS regular session"),
    ("patch-version-beyond-32-bits", ("PATCH", CORE, {"version": 2**40}, {}), "version"),
    ("patch-no-version", ("PATCH", CORE, {"symbols": ["QQQ"]}, {}), "version",
     "is required"),
    # -- bodies that are not strict JSON, or too large ------------------------------------------
    ("body-not-utf-8", ("POST", "/watchlists", b'{"name": "caf\xe9", "symbols": ["SPY"]}', JSON),
     "body", "is not UTF-8"),
    ("body-with-a-byte-order-mark", ("POST", "/watchlists", b"\xef\xbb\xbf" + raw(
        '{"name": "n", "symbols": ["SPY"]}'), JSON), "body", "is not valid JSON"),
    ("body-trailing-comma", ("POST", "/watchlists", raw('{"name": "n", "symbols": ["SPY"],}'),
                             JSON), "body", "is not valid JSON"),
    ("body-single-quotes", ("POST", "/watchlists", raw("{'name': 'n', 'symbols': ['SPY']}"),
                            JSON), "body", "is not valid JSON"),
    ("body-nan", ("PATCH", CORE, raw('{"version": NaN}'), JSON), "body", "NaN"),
    ("body-1e999", ("PATCH", CORE, raw('{"version": 1e999}'), JSON), "body", "too large"),
    ("body-500-digits", ("PATCH", CORE, raw('{"version": 1' + "0" * 500 + "}"), JSON), "body",
     "digits"),
    ("body-nested-10000-deep", ("POST", "/watchlists", raw("[" * 10_000 + "]" * 10_000), JSON),
     "body", "levels deep"),
    ("body-enabled-twice", ("POST", "/watchlists", raw(
        '{"name": "n", "symbols": ["SPY"], "enabled": true, "enabled": false}'), JSON), "body",
     "twice"),
    ("body-text-plain", ("POST", "/watchlists", raw('{"name": "n", "symbols": ["SPY"]}'),
                         {"Content-Type": "text/plain"}), "body", "is not JSON"),
    ("body-one-byte-over-1-mib", ("POST", "/watchlists", raw('{"name": "n", "symbols": ["SPY"]}'
                                                             + " " * MIB), JSON), "body",
     "over the limit of 1 MiB", {}, {}, 413),
    # -- echoes cut short, answers bounded ------------------------------------------------------
    ("a-100000-character-name", ("POST", "/watchlists", {**NEW, "name": LONG}, {}), "name", "..."),
    ("a-100000-character-schedule", ("PATCH", CORE, {"version": 1, "schedule": LONG}, {}),
     "schedule", "..."),
    ("a-100000-character-unknown-key", ("POST", "/watchlists", {**NEW, LONG: 1}, {}),
     LONG[:77] + "...", "is not a known field"),
    ("500-bad-tickers", ("POST", "/watchlists", {**NEW, "symbols": [
        f"{LONG[:40]}{i}" for i in range(500)]}, {}),
     tuple(f"symbols[{i}]" for i in range(51)), "is not a ticker"),
    # -- the token only in the Authorization header ------------------------------------------------
    ("token-in-the-query-string", ("GET", f"/watchlists?token={TOKEN}", None, ANONYMOUS),
     "Authorization", "", {}, {}, 401),
    ("token-in-a-cookie", ("GET", "/status", None, {**ANONYMOUS, "Cookie": f"token={TOKEN}"}),
     "Authorization", "", {}, {}, 401),
    ("token-as-basic-auth", ("PATCH", CORE, {"version": 1, "enabled": False},
                             {"Authorization": f"Basic {TOKEN}"}), "Authorization", "", {}, {},
     401),
    ("token-with-a-suffix", ("DELETE", CORE, None, {"Authorization": f"Bearer {TOKEN}x"}),
     "Authorization", "", {}, {}, 401),
    ("token-also-in-a-query-parameter", ("GET", f"/status?access_token={TOKEN}", None, {}),
     "access_token", "is not a known query parameter"),
    # -- paths, methods, names, versions --------------------------------------------------------
    ("name-not-utf-8-in-the-path", ("GET", "/watchlists/%FF", None, {}), "name",
     "not a watchlist name"),
    ("name-a-dot-dot", ("POST", "/watchlists/../start", None, {}), "path", "", {}, {}, 404),
    ("unknown-path", ("GET", "/admin", None, {}), "path", "is not a path", {}, {}, 404),
    ("method-not-allowed", ("PUT", CORE, {"version": 1}, {}), "method", "PUT is not allowed",
     {}, {}, 405),
    ("unknown-watchlist", ("POST", "/watchlists/ghost/stop", None, {}), "name",
     "is not a watchlist", {}, {}, 404),
    ("name-taken", ("POST", "/watchlists", {"name": "core", "symbols": ["QQQ"]}, {}), "name",
     "already a watchlist", {}, {}, 409),
    ("stale-version", ("PATCH", CORE, {"version": 7, "enabled": False}, {}), "version",
     "not the current version", {}, {}, 409),
])  # fmt: skip


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES)
def test_a_bad_request_is_refused_naming_its_field_and_nothing_changes(
    scene: Scene, api_on_prepared: Api, case: Case
) -> None:
    scene.refused_by_api(api_on_prepared, case)
