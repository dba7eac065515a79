"""Fixtures in the flaskr style: `app`, `client`, `runner`, plus a real SMTP
server on loopback (aiosmtpd) and the database the suite runs against.

The suite runs on SQLite by default and on PostgreSQL when
QUIZ_TEST_DATABASE_URL is set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).

With QUIZ_TEST_SHIFT_DAYS=N the whole run takes place N days from today
(time-machine, clock ticking): `make test-later` runs the suite a year ahead,
which proves that no test depends on the date it runs on. The shift reaches
this process, its threads and the Python processes a test starts (gunicorn,
the scheduler, the `quiz` command: tests/shifted_clock); nginx, Chromium and
the database and Redis servers keep the real clock.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, message_from_string
from email.message import EmailMessage
from email.policy import EmailPolicy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from quiz import create_app
from quiz.cli.database import upgrade
from quiz.db import Base, database, session_scope

PG_URL = os.environ.get("QUIZ_TEST_DATABASE_URL")


# --- the date the run takes place on ---------------------------------------

_SHIFT = pytest.StashKey[Any]()


SHIFTED_CLOCK = Path(__file__).resolve().parent / "shifted_clock"


def pytest_configure(config: pytest.Config) -> None:
    days = os.environ.get("QUIZ_TEST_SHIFT_DAYS")
    if days:
        import time_machine

        traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=int(days)), tick=True)
        traveller.start()
        config.stash[_SHIFT] = traveller
        # Python processes the tests start take the same date (its sitecustomize).
        os.environ["PYTHONPATH"] = python_path(SHIFTED_CLOCK)


def python_path(*folders: Path | str) -> str:
    """PYTHONPATH for a Python process a test starts: `folders`, then what this
    run already has there (the shifted clock, when the date is shifted)."""
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys([*map(str, folders), *inherited]))


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_SHIFT, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.stash.get(_SHIFT, None) is None:
        return None
    return f"QUIZ_TEST_SHIFT_DAYS: the run takes place on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


# --- SMTP ------------------------------------------------------------------


class MailProgramPolicy(EmailPolicy):
    """policy.default, reading folded headers as RFC 5322 2.2.3 says: unfold
    first, then drop the blank after the colon. Python's parser drops it
    before unfolding, so a value the email package folded onto the next line
    ("Subject:\r\n [TEST] Vraag …", legal and common) keeps a leading space
    that no mail program shows."""

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        name, value = sourcelines[0].split(":", 1)
        unfolded = "".join(line.rstrip("\r\n") for line in [value, *sourcelines[1:]])
        return name, unfolded.lstrip(" \t")


MAIL_PROGRAM = MailProgramPolicy()


@dataclass
class SMTPHandler:
    """Keeps every accepted message; `refuse` maps an address (sender or
    recipient) to a reply such as "550 5.1.1 No such user" or "451 4.3.0 Try
    again later" (a 421 reply also closes the connection, as a relay must);
    `drop` holds recipients whose message makes the server drop the
    connection instead of answering it.
    `smtputf8` makes the server offer SMTPUTF8 (RFC 6531) on new connections."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    mail_options: list[list[str]] = field(default_factory=list)  # MAIL FROM's parameters, per message
    raw: list[bytes] = field(default_factory=list)  # the bytes as sent, e.g. for DKIM checks
    refuse: dict[str, str] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)
    smtputf8: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _refusal(self, server: SMTPProtocol, address: str) -> str | None:
        reply = self.refuse.get(address.lower())
        if reply and reply.startswith("421"):
            # aiosmtpd leaves closing to the handler: after this reply goes out.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return reply

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: ANN001, ANN201, N802
        reply = self._refusal(server, address)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        reply = self._refusal(server, address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        if self.drop.intersection(a.lower() for a in envelope.rcpt_tos):
            server.transport.abort()  # the message is not kept and gets no reply
            return "451 never sent"
        if "SMTPUTF8" in (o.upper() for o in envelope.mail_options):
            # Headers in UTF-8 (RFC 6532), read as a client that speaks SMTPUTF8 reads them.
            msg = message_from_string(envelope.content.decode("utf-8"), policy=MAIL_PROGRAM)
        else:
            msg = message_from_bytes(envelope.content, policy=MAIL_PROGRAM)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.mail_options.append(list(envelope.mail_options))
            self.raw.append(envelope.content)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()
            self.mail_options.clear()
            self.raw.clear()
            self.refuse.clear()
            self.drop.clear()
            self.smtputf8 = False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Controller(Controller):
    def factory(self) -> SMTPProtocol:
        return SMTPProtocol(self.handler, hostname="smtp.test", enable_SMTPUTF8=self.handler.smtputf8)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[_Controller]:
    controller = _Controller(SMTPHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def smtp(smtp_server: _Controller) -> Iterator[SMTPHandler]:
    """The real SMTP server's handler, emptied for each test (set `smtputf8`
    before the first message to have the server offer SMTPUTF8)."""
    smtp_server.handler.clear()
    yield smtp_server.handler
    smtp_server.handler.clear()


# --- database --------------------------------------------------------------


def _base_config(db_url: str, tmp: Path, smtp_port: int) -> dict[str, Any]:
    return {
        "TESTING": True,
        "QUIZ_IGNORE_DOTENV": True,
        "QUIZ_ENV": "testing",
        "QUIZ_SECRET_KEY": "test-secret",
        "QUIZ_DATABASE_URL": db_url,
        "QUIZ_MAIL_BACKEND": "smtp",
        "QUIZ_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}?timeout=5",
        "QUIZ_DEV_MAILBOX_DIR": str(tmp / "dev-mailbox"),
        "QUIZ_BASE_URL": "http://quiz.test",
    }


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory, smtp_server: _Controller) -> Path | None:
    """A SQLite file migrated once per run; each test gets a copy."""
    if PG_URL:
        return None
    tmp = tmp_path_factory.mktemp("template")
    path = tmp / "template.sqlite3"
    app = create_app(_base_config(f"sqlite:///{path}", tmp, smtp_server.port))
    upgrade(app)
    database(app).dispose()
    return path


@pytest.fixture(scope="session")
def migrated_pg(smtp_server: _Controller, tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """Empty the PostgreSQL test database and migrate it once per run."""
    if not PG_URL:
        return None
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = create_app(_base_config(PG_URL, tmp_path_factory.mktemp("pg"), smtp_server.port))
    upgrade(app)
    database(app).dispose()
    return PG_URL


def _truncate_pg(app: Flask) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with database(app).engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db_url(tmp_path: Path, migrated_sqlite: Path | None, migrated_pg: str | None) -> str:
    if migrated_pg:
        return migrated_pg
    assert migrated_sqlite is not None
    target = tmp_path / "quiz.sqlite3"
    shutil.copy(migrated_sqlite, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app_config(db_url: str, tmp_path: Path, smtp_server: _Controller) -> dict[str, Any]:
    """Override entries in a test with `@pytest.mark.parametrize` or by
    requesting this fixture and changing it before `app` is built."""
    return _base_config(db_url, tmp_path, smtp_server.port)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    yield app
    if PG_URL:
        _truncate_pg(app)
    database(app).dispose()


@pytest.fixture
def client(app: Flask):  # noqa: ANN201
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # noqa: ANN201
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with session_scope(app) as s:
        yield s


# --- time ------------------------------------------------------------------


def at(text_: str) -> datetime:
    """An aware UTC moment from a local Amsterdam time, e.g. at("2026-11-16 07:30")."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text_).replace(tzinfo=ZoneInfo("Europe/Amsterdam")).astimezone(UTC)


# --- live server and browser -------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: Flask

    def send_outbox(self) -> None:
        """Send what the outbox holds now, as the scheduler's next tick would."""
        from quiz.db import utcnow
        from quiz.delivery.sender import send_due

        send_due(self.app, utcnow, "live-server-test")


@pytest.fixture
def live_server(app_config: dict[str, Any]) -> Iterator[LiveServer]:
    """The app served over real HTTP on loopback (werkzeug, threaded), with the
    dev mailbox, for browser tests."""
    from werkzeug.serving import make_server

    port = free_port()
    config = {
        **app_config,
        "QUIZ_MAIL_BACKEND": "dev",
        "QUIZ_BASE_URL": f"http://127.0.0.1:{port}",
        "TESTING": False,  # behave as deployed: real error pages, CSRF on
    }
    app = create_app(config)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{port}", app)
    server.shutdown()
    thread.join(timeout=5)
    if PG_URL:
        _truncate_pg(app)
    database(app).dispose()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright; never a downloaded browser build."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A page at a 375 px wide phone viewport."""
    context = browser.new_context(
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="nl-NL",
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def admin(client, session):  # noqa: ANN001, ANN201
    """A test client logged in as the organiser of tests/admin_factories.py."""
    from tests.admin_factories import AdminClient, make_organiser

    make_organiser(session)
    admin = AdminClient(client)
    admin.login()
    return admin
