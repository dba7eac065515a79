"""Probes for load balancers and process supervisors.

- `/healthz`: the process is up and answers HTTP. Never touches the
  database, so a database outage does not make every web process look dead
  and get restarted in a loop.
- `/readyz`: this process can serve: the database answers and its schema is
  at the newest migration (Alembic head). During a deploy, new code against
  an old schema reports 503 until `quiz init-db` has run.

Both answer in plain text, are never rate-limited and leave no row behind.
The answers say nothing about participants, so they need no protection.
"""

from __future__ import annotations

from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

bp = Blueprint("health", __name__)


@cache
def expected_heads() -> frozenset[str]:
    """The head revision(s) of the migrations shipped with this code (read once per process)."""
    from quiz.db import MIGRATIONS

    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def _plain(body: str, status: int) -> Response:
    response = Response(body + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    return _plain("ok", 200)


def readiness() -> tuple[bool, str]:
    """(ready, reason): the database answers and is at the migrations' head."""
    from quiz.db import database

    try:
        with database().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        # The driver's message may hold a host name; the log gets it, the probe does not.
        current_app.logger.warning("readyz: database unreachable: %s", type(exc).__name__)
        return False, "database unreachable"
    expected = expected_heads()
    if current != expected:
        have = ",".join(sorted(current)) or "none"
        return (
            False,
            f"database schema at {have}, code expects {','.join(sorted(expected))}: run quiz init-db",
        )
    return True, "ready"


@bp.get("/readyz")
def readyz() -> Response:
    ready, reason = readiness()
    return _plain(reason, 200 if ready else 503)
