"""The connection pool without a pre-ping: a PostgreSQL backend that went
away between two requests (server restart, pg_terminate_backend, an idle
timeout) is replaced at checkout, so the next request still works."""

from __future__ import annotations

import time

import pytest
import time_machine
from sqlalchemy import create_engine, event, text

from quiz.db import database
from tests.answer_factories import links, make_players, make_quiz, send_question
from tests.conftest import PG_URL, at

MONDAY = at("2026-11-16 07:30")

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (QUIZ_TEST_DATABASE_URL)")


def _terminate(pids: set[int]) -> None:
    """pg_terminate_backend each pid and wait until the server processes are gone.

    Autocommit: PostgreSQL reads pg_stat_activity once per transaction, so in
    one transaction a backend that was still exiting at the first look would
    seem to run for ever."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for pid in pids:
                assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):
                left = conn.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": list(pids)}
                )
                if not left:
                    return
                time.sleep(0.05)
            raise AssertionError(f"backends {pids} still running")
    finally:
        admin.dispose()


@pytest.fixture
def backends(app):
    """The server process ids of every connection the app's engine opens from now on."""
    engine = database(app).engine
    pids: set[int] = set()

    def remember(dbapi_conn, _record):  # noqa: ANN001, ANN202
        pids.add(dbapi_conn.info.backend_pid)

    engine.dispose()
    event.listen(engine, "connect", remember)
    yield pids
    event.remove(engine, "connect", remember)


def test_a_request_after_the_backend_was_terminated_succeeds(app, session, smtp, client, backends):
    campaign, qs = make_quiz(session, MONDAY)
    [anna] = make_players(session, campaign, MONDAY, 1)
    session.commit()
    send_question(app, session, anna, qs.questions[0], MONDAY)
    link = next(link for link in links(smtp.messages[0]) if link.startswith("/a/"))
    with time_machine.travel(MONDAY, tick=False):
        assert "Bevestig mijn antwoord" in client.get(link).text
        killed = set(backends)
        assert killed  # the pool holds at least the request's connection
        _terminate(killed)

        # Every pooled connection is dead now; the request gets a new one.
        again = client.get(link)
        assert again.status_code == 200 and "Bevestig mijn antwoord" in again.text
        assert backends - killed  # a new server process served it
        assert client.get(link).status_code == 200


def test_a_confirmation_after_the_backends_were_terminated_is_recorded(app, session, smtp, client, backends):
    from tests.test_answers import option_ids

    campaign, qs = make_quiz(session, MONDAY)
    [anna] = make_players(session, campaign, MONDAY, 1)
    session.commit()
    send_question(app, session, anna, qs.questions[0], MONDAY)
    first, second = [link for link in links(smtp.messages[0]) if link.startswith("/a/")][:2]
    with time_machine.travel(MONDAY, tick=False):
        option = option_ids(client.get(first).text)[0]
        # A POST without an option records nothing (422).
        assert client.post(second, data={}).status_code == 422
        killed = set(backends)
        _terminate(killed)

        page = client.post(first, data={"option": option})
        assert page.status_code == 200 and "Jouw antwoord" in page.text
        assert backends - killed
    assert session.scalar(text("SELECT count(*) FROM answer")) == 1
