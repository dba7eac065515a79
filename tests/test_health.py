"""/healthz, /readyz, ProxyFix behind a proxy, JSON log lines."""

from __future__ import annotations

import io
import json
import logging

import pytest
from sqlalchemy import text

from quiz import create_app
from quiz.db import database
from quiz.ops.logs import JsonFormatter, RedactingFilter


def test_healthz_answers_without_the_database(app_config):
    app = create_app({**app_config, "QUIZ_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.text == "ok\n"
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.text == "ready\n"


def test_readyz_unavailable_when_the_database_is_unreachable(app_config):
    app = create_app({**app_config, "QUIZ_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.text == "database unreachable\n"
    database(app).dispose()


def test_readyz_unavailable_when_migrations_are_behind(app):
    with database(app).engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '839a84ae904c'"))
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert "database schema at 839a84ae904c" in response.text and "run quiz init-db" in response.text
    finally:
        from quiz.ops.health import expected_heads

        (head,) = expected_heads()
        with database(app).engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": head})


@pytest.mark.parametrize("hops, secure", [(0, False), (1, True)])
def test_proxy_hops_trust_the_proxy_for_https(app_config, hops, secure):
    app = create_app({**app_config, "QUIZ_PROXY_HOPS": hops, "QUIZ_BASE_URL": "https://quiz.test"})
    response = app.test_client().get(
        "/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    )
    # The security headers send HSTS only for requests that came in over https.
    assert ("Strict-Transport-Security" in response.headers) is secure
    database(app).dispose()


def test_proxy_hops_take_the_client_address_from_the_nearest_proxy(app_config):
    app = create_app({**app_config, "QUIZ_PROXY_HOPS": 1})
    seen = {}

    @app.get("/_addr")
    def addr() -> str:
        from flask import request

        seen["addr"] = request.remote_addr
        return "x"

    # A client-forged first entry is ignored: one hop trusts only the last one.
    app.test_client().get("/_addr", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert seen["addr"] == "203.0.113.9"
    database(app).dispose()


def test_json_log_lines_are_single_redacted_objects():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("quiz.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("refused %s", "anna@example.org")
        try:
            raise ValueError("bad address piet@example.org")
        except ValueError:
            logger.exception("send failed")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # a traceback stays inside its one line
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "quiz.test.json"
    assert first["msg"].startswith("refused <e-mail #") and "anna" not in lines[0]
    assert "ValueError" in second["exc"] and "piet@example.org" not in lines[1]


def test_production_defaults_to_json_logs():
    from quiz.config import load_settings

    assert load_settings({"QUIZ_ENV": "production"}, env_file=None)["QUIZ_LOG_FORMAT"] == "json"
    assert load_settings({}, env_file=None)["QUIZ_LOG_FORMAT"] == "text"


def test_gunicorn_in_production_writes_one_json_object_per_line(db_url, tmp_path):
    """The Procfile's web command with QUIZ_ENV=production: access log, error
    log and the start-up check all as JSON lines, without tokens."""
    import os
    import sys
    from pathlib import Path

    from tests.conftest import free_port
    from tests.test_logs import TOKEN, _serve_and_request

    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "QUIZ_ENV": "production",
        "QUIZ_SECRET_KEY": "a-test-secret-for-the-json-log-that-is-long-enough",
        "QUIZ_DATABASE_URL": db_url,
        "QUIZ_BASE_URL": f"http://127.0.0.1:{port}",  # http: the start-up check complains
        "QUIZ_MAIL_BACKEND": "smtp",
        "WEB_CONCURRENCY": "1",
        "PORT": str(port),
    }
    log_path = tmp_path / "web.log"
    with log_path.open("w") as log:
        _serve_and_request(port, env, log, tmp_path)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # fails on any line that is not one JSON object
    messages = [e["msg"] for e in events]
    assert any("GET /a/<token> HTTP/1.1" in m for m in messages)
    assert any(m.startswith("quiz check: ERROR   QUIZ_BASE_URL") for m in messages)
    assert {"ts", "level", "logger", "msg", "pid"} <= set(events[0])
    assert TOKEN not in log_path.read_text()
