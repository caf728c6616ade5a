"""Real servers on loopback for the notifier: an HTTP webhook and an SMTP server.

Both bind port 0 (the kernel picks a free port), so tests can run in parallel. Nothing is
mocked; only time is injected (`no_sleep`), so backoff costs no wall-clock time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy.engine import Engine

from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline_tests.notify.rows import SMTP_PASSWORD, SMTP_USER
from dgas_pipeline_tests.notify.servers import (
    LoopbackController,
    Mailbox,
    MailHandler,
    Sleeps,
    Webhook,
    serve_webhook,
)


@pytest.fixture
def engine(db_url: str) -> Engine:
    """Our tables, migrated, on SQLite and on PostgreSQL."""
    ensure_schema(db_url)
    return make_engine(db_url)


@pytest.fixture
def no_sleep() -> Sleeps:
    return Sleeps()


# -- webhook ---------------------------------------------------------------------------------


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with serve_webhook() as hook:
        yield hook


# -- SMTP ------------------------------------------------------------------------------------


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()

    def authenticator(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        box.logins.append((auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)

    controller = LoopbackController(
        MailHandler(box),
        hostname="127.0.0.1",
        port=0,
        authenticator=authenticator,
        auth_require_tls=False,  # loopback only; the client logs in over plain SMTP
    )
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()
