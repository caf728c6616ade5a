"""Secrets never leave the environment: sentinel values for every secret, cycles that fail in
every way that could echo one, then a search of everything the system wrote.

The secrets: the Polygon key (`POLYGON_API_KEY`), the SMTP password (`${SMTP_PASSWORD}` in
a `mailto://` URL), a webhook token (`${WEBHOOK_TOKEN}` in a header of a `json://` URL), the
API token (`DGAS_API_TOKEN`) and the database password (in `DGAS_DATABASE_URL`, on a
PostgreSQL cluster of the test's own whose trust auth accepts any password).

The failures: a loopback Polygon that answers 500 with the key in its body, an SMTP server
that refuses every message quoting the login and password, a webhook that answers 500 with
its token; the API asked without, with a wrong and with the right token.

Searched (each secret as written, percent-encoded and form-encoded): stdout and stderr of
every command, every log record at DEBUG (caplog), every Dagster event of every run
(serialized, so asset metadata and step failures too), every run's config and tags, every
row of every table in the database, the API's responses and its process output, and every
file under the test's directory (DAGSTER_HOME, the IO manager's frames, the config).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import dagster as dg
import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
import time_machine
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import make_engine
from dgas_pipeline_tests.automation.conftest import Deployment
from dgas_pipeline_tests.data.fake_polygon import FakePolygon, Reply
from dgas_pipeline_tests.defs.conftest import busiest_bar, live_at, session_bars
from dgas_pipeline_tests.notify.servers import LoopbackController
from dgas_pipeline_tests.reliability.conftest import (
    Hook,
    PgCluster,
    deployment_on,
    dgas_command,
    free_port,
    process_env,
    processes,
    wait_until,
)

POLYGON_KEY = "pk-SENTINEL-polygon-7f3a9c0e5b"
SMTP_USER = "alerts"
SMTP_PASSWORD = "SENTINEL-smtp-P@ss/w:rd-41b2"  # noqa: S105 - '@', '/', ':' must survive URLs
WEBHOOK_TOKEN = "SENTINEL-webhook-9d8e7f6a5b"  # noqa: S105
API_TOKEN = "SENTINEL-api-token-0123456789abcdef"  # noqa: S105
DB_PASSWORD = "SENTINEL-db-pw-5c6d7e8f"  # noqa: S105
SECRETS = {
    "POLYGON_API_KEY": POLYGON_KEY,
    "SMTP_PASSWORD": SMTP_PASSWORD,
    "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
    "DGAS_API_TOKEN": API_TOKEN,
}
API_START_S = 60
# The loopback SMTP server of this test (aiosmtpd) logs the refusals it sends, which quote the
# password on purpose; it is the failing server, not the system under test.
TEST_SERVER_LOGGERS = ("mail.log",)
FORMATTER = logging.Formatter()


def spellings() -> dict[str, str]:
    """Every secret as written, percent-encoded and form-encoded, with its name."""
    out = {}
    for name, value in [*SECRETS.items(), ("database password", DB_PASSWORD)]:
        for form in (value, quote(value, safe=""), quote_plus(value, safe="")):
            out[form] = name
    return out


def leaks(where: str, text: str) -> list[str]:
    return [f"{name} in {where}" for form, name in spellings().items() if form in text]


# -- servers that fail, and echo what they were sent -------------------------------------------


class RefusingMail:
    """An SMTP server that lets the client log in, then refuses every message quoting the
    credentials (a server that leaks them into its error)."""

    def __init__(self) -> None:
        self.logins: list[tuple[str, bool]] = []
        self.refused = 0

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password.decode() == SMTP_PASSWORD
        self.logins.append((data.login.decode() if isinstance(data, LoginPassword) else "", ok))
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.refused += 1
        return f"554 5.7.1 rejected for {SMTP_USER}:{SMTP_PASSWORD}"


@pytest.fixture
def refusing_mail() -> Iterator[tuple[RefusingMail, int]]:
    mail = RefusingMail()
    controller = LoopbackController(
        mail,
        hostname="127.0.0.1",
        port=0,
        authenticator=mail.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield mail, controller.port
    finally:
        controller.stop()


@pytest.fixture
def failing_polygon() -> Iterator[FakePolygon]:
    server = FakePolygon()
    server.reply(Reply(500, {"status": "ERROR", "error": f"key Bearer {POLYGON_KEY} refused"}))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def with_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_cluster: PgCluster
) -> Iterator[Deployment]:
    """A deployment on the own cluster, reached with a password, every secret set."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with deployment_on(tmp_path, monkeypatch, pg_cluster.url(password=DB_PASSWORD)) as env:
        yield env


# -- the test ------------------------------------------------------------------------------------


def test_sentinel_secrets_appear_nowhere_after_cycles_that_fail_in_every_channel(
    with_secrets: Deployment,
    pg_cluster: PgCluster,
    failing_polygon: FakePolygon,
    refusing_mail: tuple[RefusingMail, int],
    hook: Hook,
    session_signals: pd.DataFrame,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    figures: Any,
) -> None:
    env = with_secrets
    mail, smtp_port = refusing_mail
    hook.default_status = 500
    hook.echo_header = "X-Webhook-Token"
    caplog.set_level(logging.DEBUG)
    polygon = {
        "polygon_base_url": failing_polygon.base_url,
        "max_retries": 1,
        "backoff_base_seconds": 0,
        "backoff_max_seconds": 0,
        "request_timeout_seconds": 5,
    }
    notifications = {
        "channels": [
            {"name": "console", "url": "console"},
            {"name": "hook", "url": hook.url(query="+X-Webhook-Token=${WEBHOOK_TOKEN}")},
            {
                "name": "mail",
                "url": f"mailto://{SMTP_USER}:${{SMTP_PASSWORD}}@127.0.0.1:{smtp_port}"
                "?mode=insecure&from=alerts@example.com&to=trader@example.com",
            },
        ],
        "max_attempts": 2,
        "backoff_base_seconds": 0,
        "backoff_max_seconds": 0,
    }
    outputs: list[tuple[str, str]] = []

    def dgas(*argv: str) -> tuple[int, Any]:
        code, out, err = env.dgas(*argv)
        outputs.append((" ".join(argv), (json.dumps(out) if not isinstance(out, str) else out)))
        outputs.append((" ".join(argv) + " (stderr)", err))
        return code, out

    bar = busiest_bar(session_signals)
    earlier = session_bars(bar.start.date())[session_bars(bar.start.date()).index(bar) - 1]

    # 1. Polygon is the only provider and fails for every symbol: the errors are stored.
    env.configure(provider={"chain": ["polygon"], **polygon}, notifications=notifications)
    with time_machine.travel(live_at(earlier), tick=True):
        code, first = dgas("run-once", "--at", live_at(earlier, 1).isoformat(), "--json")
    assert (code, first["status"], first["symbols_processed"]) == (0, "PARTIAL", 0), first
    assert len(first["errors"]) == 8 and all("HTTP 500" in e for e in first["errors"])

    # 2. Polygon fails, the synthetic provider answers, every channel but the console fails.
    env.configure(
        provider={"chain": ["polygon", "synthetic"], **polygon}, notifications=notifications
    )
    with time_machine.travel(live_at(bar), tick=True):
        code, second = dgas("run-once", "--at", live_at(bar, 1).isoformat(), "--json")
    assert (code, second["status"]) == (0, "PARTIAL"), second
    assert second["signals"] > 0
    assert any(e.startswith("hook signal:") for e in second["errors"])
    assert any(e.startswith("mail signal:") for e in second["errors"])
    dgas("status", "--json")
    dgas("db", "current", "--json")
    dgas("config", "validate", "--json")

    # The secrets were really used: each reached its server.
    assert failing_polygon.requests
    assert {r.headers["authorization"] for r in failing_polygon.requests} == {
        f"Bearer {POLYGON_KEY}"
    }
    assert {r["headers"].get("X-Webhook-Token") for r in hook.requests} == {WEBHOOK_TOKEN}
    assert mail.refused > 0 and (SMTP_USER, True) in mail.logins

    # The failing servers did echo the secrets; what was stored has them masked.
    assert "key Bearer *** refused" in first["errors"][0]
    assert any("rejected for alerts:***" in e for e in second["errors"])

    # 3. The API, as its own process, with the token required.
    api_output, api_responses = _exercise_api(env, pg_cluster, tmp_path)

    # -- the search ---------------------------------------------------------------------------
    found: list[str] = []
    for where, text in outputs:
        found += leaks(f"output of dgas {where}", text)
    captured = capfd.readouterr()
    found += leaks("process stdout", captured.out) + leaks("process stderr", captured.err)
    for record in caplog.records:
        if record.name.startswith(TEST_SERVER_LOGGERS):
            continue
        trace = FORMATTER.formatException(record.exc_info) if record.exc_info else ""
        text = f"{record.name} {record.getMessage()} {record.exc_text or ''} {trace}"
        found += leaks(f"log record of {record.name}", text)
    found += leaks("dgas api output", api_output)
    for label, body in api_responses:
        found += leaks(f"API response to {label}", body)
    runs = env.instance.get_runs()
    assert len(runs) == 2
    for run in runs:
        found += leaks(f"run config of {run.run_id}", json.dumps(run.run_config, default=str))
        found += leaks(f"tags of {run.run_id}", json.dumps(dict(run.tags)))
        for entry in env.instance.all_logs(run.run_id):
            found += leaks(f"event log of {run.run_id}", dg.serialize_value(entry))
    found += _leaks_in_tables(pg_cluster.url(password=DB_PASSWORD))
    found += _leaks_in_files(tmp_path)
    assert found == [], "\n".join(sorted(set(found)))

    figures("secrets_checked", len(SECRETS) + 1)
    figures("log_records_searched", len(caplog.records))
    figures("events_searched", sum(len(env.instance.all_logs(r.run_id)) for r in runs))
    figures("leaks", 0)


def _exercise_api(
    env: Deployment, cluster: PgCluster, tmp_path: Path
) -> tuple[str, list[tuple[str, str]]]:
    """`dgas api` with DGAS_API_TOKEN: 401 without or with a wrong token, then real use."""
    port = free_port()
    process_vars = process_env(
        DAGSTER_HOME=str(env.home),
        DGAS_CONFIG=str(env.config_path),
        DGAS_DATABASE_URL=cluster.url(password=DB_PASSWORD),
        **SECRETS,
    )
    responses: list[tuple[str, str]] = []
    with processes() as running:
        log = tmp_path / "api.log"
        with log.open("w") as output:
            api = subprocess.Popen(
                [*dgas_command(), "api", "--host", "127.0.0.1", "--port", str(port)],
                cwd=tmp_path,
                env=process_vars,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        running.append(api)
        wait_until(lambda: _accepts(port) or api.poll() is not None, API_START_S, "dgas api")
        assert api.poll() is None, log.read_text()
        base = f"http://127.0.0.1:{port}"
        good = {"Authorization": f"Bearer {API_TOKEN}"}
        wrong = {"Authorization": "Bearer nope"}
        with httpx.Client(base_url=base, timeout=30) as client:
            cases = [
                ("no token", "GET", "/watchlists", {}, None, 401),
                ("a wrong token", "GET", "/watchlists", wrong, None, 401),
                ("a token prefix", "GET", "/status", {"Authorization": f"Bearer {API_TOKEN[:-1]}"},
                 None, 401),
                ("the token", "POST", "/watchlists", good, {"name": "core", "symbols": ["SPY"]},
                 201),
                ("a bad payload", "POST", "/watchlists", good, {"name": "x y", "symbols": []},
                 422),
                ("the status", "GET", "/status", good, None, 200),
            ]  # fmt: skip
            for label, method, path, headers, payload, status in cases:
                response = client.request(method, path, headers=headers, json=payload)
                assert response.status_code == status, (label, response.text)
                responses.append((label, f"{response.headers} {response.text}"))
        api.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly
        api.wait(timeout=30)  # else `processes` kills it
    output = log.read_text()
    assert "401" in output  # its access log is part of what was searched
    return output, responses


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _leaks_in_tables(url: str) -> list[str]:
    """Every row of every table in the database, as text."""
    engine = make_engine(url)
    found = []
    names = sa.inspect(engine).get_table_names()
    assert set(tables.metadata.tables) <= set(names)
    with engine.connect() as conn:
        for name in names:
            rows = conn.execute(sa.text(f'SELECT * FROM "{name}"')).all()  # noqa: S608
            found += leaks(f"table {name}", repr(rows))
    return found


def _leaks_in_files(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for form, name in spellings().items():
                if form.encode() in data:
                    found.append(f"{name} in file {path.relative_to(root)}")
    return found


def test_the_search_would_find_a_leak(tmp_path: Path) -> None:
    """The searches above are not blind: a secret written out is found in each spelling."""
    (tmp_path / "leaky.log").write_text(f"user:{quote(SMTP_PASSWORD, safe='')}@host\n")
    assert _leaks_in_files(tmp_path) == ["SMTP_PASSWORD in file leaky.log"]
    assert leaks("text", f"Bearer {API_TOKEN}") == ["DGAS_API_TOKEN in text"]
    assert leaks("text", quote_plus(DB_PASSWORD, safe="")) == ["database password in text"]
    assert os.environ.get("POLYGON_API_KEY") != POLYGON_KEY  # set only inside the test
