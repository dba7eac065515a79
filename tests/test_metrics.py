"""Prometheus metrics at /metrics: off by default, bearer token, figures from the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from quiz.db import utcnow
from quiz.models import Answer, Delivery
from tests.answer_factories import make_players, make_quiz, send_question
from tests.conftest import PG_URL, _truncate_pg, python_path
from tests.factories import make_participant

TOKEN = "metrics-token-for-tests"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_do_not_exist_without_a_token(client):
    assert client.get("/metrics").status_code == 404


@pytest.fixture
def metrics_client(app_config):
    from quiz import create_app
    from quiz.db import database

    app = create_app({**app_config, "QUIZ_METRICS_TOKEN": TOKEN})
    yield app, app.test_client()
    if PG_URL:  # as the `app` fixture: the next test starts from empty tables
        _truncate_pg(app)
    database(app).dispose()


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_need_the_bearer_token(metrics_client, header):
    _, client = metrics_client
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "quiz_" not in response.text


def test_metrics_report_the_database_and_requests(metrics_client):
    app, client = metrics_client
    from quiz.db import session_scope

    now = utcnow()
    with session_scope(app) as session:
        campaign, qs = make_quiz(session, now)
        anna = make_participant(session, campaign, now, email="anna@example.org", status="active")
        bob = make_participant(session, campaign, now, email="bob@example.org", status="bounced")
        session.add_all(
            [
                Delivery(
                    participant=anna,
                    kind="question",
                    day=1,
                    due_at=now - timedelta(minutes=10),
                    status="pending",
                    created_at=now,
                ),
                Delivery(
                    participant=anna,
                    kind="confirm",
                    day=0,
                    due_at=now - timedelta(hours=1),
                    status="sent",
                    sent_at=now - timedelta(seconds=20),
                    created_at=now,
                ),
                Delivery(
                    participant=bob,
                    kind="confirm",
                    day=0,
                    due_at=now - timedelta(hours=1),
                    status="failed",
                    bounce_type="hard",
                    bounce_status="5.1.1",
                    created_at=now,
                ),
            ]
        )
        session.flush()
        question = qs.questions[0]
        session.add(Answer(participant=anna, question=question, option=question.options[0], answered_at=now))
        session.commit()

    client.get("/healthz")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "anna" not in response.text and "example.org" not in response.text
    got = samples(response.text)
    assert got[("quiz_deliveries", (("kind", "question"), ("status", "pending")))] == 1
    assert got[("quiz_deliveries", (("kind", "confirm"), ("status", "sent")))] == 1
    assert got[("quiz_outbox_depth", ())] == 1
    assert 590 <= got[("quiz_outbox_oldest_due_seconds", ())] <= 700
    assert got[("quiz_messages_sent_total", ())] == 1
    assert got[("quiz_messages_sent_last_minute", ())] == 1
    assert got[("quiz_answers_total", ())] == 1
    assert got[("quiz_participants", (("status", "active"),))] == 1
    assert got[("quiz_participants", (("status", "bounced"),))] == 1
    assert got[("quiz_bounces", (("type", "hard"),))] == 1
    key = ("quiz_http_requests_total", (("endpoint", "health.healthz"), ("method", "GET"), ("status", "200")))
    assert got[key] >= 1


def test_gunicorn_workers_report_together_in_multiprocess_mode(db_url, tmp_path):
    """The Procfile's web command with two workers and PROMETHEUS_MULTIPROC_DIR:
    /metrics from whichever worker answers counts the requests of all
    workers, recycled ones included."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    from tests.conftest import free_port
    from tests.test_logs import _procfile_web_command

    root = Path(__file__).resolve().parent.parent
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": python_path(root),
        "QUIZ_ENV": "testing",
        "QUIZ_SECRET_KEY": "a-test-secret",
        "QUIZ_DATABASE_URL": db_url,
        "QUIZ_MAIL_BACKEND": "smtp",
        "QUIZ_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "WEB_CONCURRENCY": "2",
        # Workers recycled every 10 requests: many worker processes, some gone
        # by the time /metrics is read, and their counts must all be there.
        "GUNICORN_CMD_ARGS": "--max-requests 10 --max-requests-jitter 0",
        "PORT": str(port),
    }
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "web.log").open("w") as log:
        server = subprocess.Popen(_procfile_web_command(port), cwd=root, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        request = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        key = (
            "quiz_http_requests_total",
            (("endpoint", "health.healthz"), ("method", "GET"), ("status", "200")),
        )

        def total() -> float:
            with urllib.request.urlopen(request, timeout=5) as response:
                return samples(response.read().decode())[key]

        # The start-up probe above may have been retried on a slow machine: count from here.
        before = total()
        for _ in range(40):  # spread over both workers
            # Both workers restart every 10 requests, about at once: on a busy
            # machine a request may wait seconds for a fresh worker. This test
            # is about the counts, so it waits for the answer.
            urllib.request.urlopen(base + "/healthz", timeout=30).close()
        seen = {total() - before for _ in range(6)}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    assert seen == {40.0}  # the same total, whichever worker answers
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 4  # counted by at least four processes


def test_confirmations_are_counted_with_their_status(metrics_client, smtp):
    """The POST that records an answer and the one without an option are
    both counted, each with its own status."""
    app, client = metrics_client
    from quiz.db import session_scope

    now = utcnow()
    with session_scope(app) as session:
        campaign, qs = make_quiz(session, now)
        [anna] = make_players(session, campaign, now, 1, first_day=now.date())
        send_question(app, session, anna, qs.questions[0], now)
        option_id = qs.questions[0].options[1].id
    text = smtp.messages[-1].get_body(("plain",)).get_content()
    path = next(word for word in text.split() if "/a/" in word).split("quiz.test", 1)[1]
    keys = [
        ("quiz_http_requests_total", (("endpoint", "answers.answer"), ("method", "POST"), ("status", "200"))),
        ("quiz_http_requests_total", (("endpoint", "answers.answer"), ("method", "POST"), ("status", "422"))),
        ("quiz_http_request_seconds_count", (("endpoint", "answers.answer"),)),
    ]

    def counts() -> list[float]:  # the counters live as long as the process: compare, not absolute
        got = samples(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text)
        return [got.get(key, 0) for key in keys]

    before = counts()
    assert client.post(path, data={"option": ""}).status_code == 422
    assert client.post(path, data={"option": str(option_id)}).status_code == 200
    assert [a - b for a, b in zip(counts(), before, strict=True)] == [1, 1, 2]
