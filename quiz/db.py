"""Declarative base, the UTC datetime type and engine/session handling.

One engine per app; one session per application context (request, CLI
command or scheduler tick), closed when the context ends.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The Alembic migrations shipped with this code (quiz init-db, /readyz).
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes, always stored in UTC.

    SQLite has no timezone type and hands back naive values; this type makes
    both databases return aware UTC datetimes and refuses naive input, so a
    local time can never slip into the store unnoticed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **options: Any) -> Engine:
    """An engine tuned for the two databases we run on (`options` go to create_engine)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the web process read while the scheduler writes;
            # foreign keys are off by default in SQLite.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # No pool_pre_ping: it costs a round trip to the server on every checkout,
    # i.e. on every request. A connection the server has closed (restart,
    # pg_terminate_backend, idle timeout) is found without one: the server
    # says goodbye on the socket, so an idle pooled connection with something
    # to read is dead and is replaced at checkout. A connection that died
    # without a word fails its first statement; SQLAlchemy then invalidates
    # the whole pool, so only that request fails. pool_recycle replaces
    # connections before firewalls or poolers silently drop idle ones.
    engine = create_engine(url, pool_recycle=POOL_RECYCLE_SECONDS, **options)
    event.listen(engine, "checkout", _drop_if_closed_by_server)
    return engine


POOL_RECYCLE_SECONDS = 1800


def _drop_if_closed_by_server(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Checkout check without a round trip: an idle connection has nothing to
    read, unless the server closed it or sent its termination notice."""
    reason = closed_by_server(dbapi_conn)
    if reason:
        # SQLAlchemy closes it, opens a fresh one and runs this check again.
        raise DisconnectionError(reason)


def closed_by_server(dbapi_conn: Any) -> str | None:
    """Why an idle driver connection is of no more use, or None if it is."""
    if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
        return "connection closed"
    fileno = getattr(dbapi_conn, "fileno", None)
    if fileno is None:
        return None
    try:
        readable, _, _ = select.select([fileno()], [], [], 0)
    except (OSError, ValueError) as exc:  # the socket itself is gone
        return str(exc)
    return "server closed the connection" if readable else None


class Database:
    """The app's engine and session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask) -> None:
    app.extensions["quiz_db"] = Database(app.config["QUIZ_DATABASE_URL"])
    app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["quiz_db"]


def get_session() -> Session:
    """The session of the current application context, opened on first use."""
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A session outside any request, for the scheduler and scripts."""
    session = database(app).sessionmaker()
    try:
        yield session
    finally:
        session.close()


def utcnow() -> datetime:
    """The current time, at the edges only: rules receive `now` as an argument."""
    return datetime.now(UTC)
