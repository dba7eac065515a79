"""quiz.driver_sql on PostgreSQL: statements run on libpq directly give what
SQLAlchemy would, raise psycopg's own errors and survive psycopg clearing the
connection's prepared statements."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg
import pytest
from sqlalchemy import bindparam, create_engine, insert, select, text

from quiz.driver_sql import DriverStatement
from quiz.models import Answer, Campaign, Participant
from tests.answer_factories import make_players, make_quiz
from tests.conftest import PG_URL, at

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (QUIZ_TEST_DATABASE_URL)")

MONDAY = at("2026-11-16 07:30")

_FACTS = DriverStatement(
    select(Participant.email, Participant.first_quiz_day, Campaign.skip_dates, Answer.answered_at)
    .join(Campaign, Campaign.id == Participant.campaign_id)
    .outerjoin(Answer, (Answer.participant_id == Participant.id) & (Answer.question_id == bindparam("qid")))
    .where(Participant.id == bindparam("pid"))
)
_INSERT = DriverStatement(
    insert(Answer).values(
        {
            **{name: bindparam(name) for name in ("participant_id", "question_id", "option_id")},
            "answered_at": bindparam("answered_at"),
            "source": "confirmed",
        }
    )
)


@pytest.fixture
def autocommit(app):
    engine = create_engine(app.config["QUIZ_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.fixture
def anna(session):
    campaign, qs = make_quiz(session, MONDAY, skip_dates=["2026-11-18"])
    [anna] = make_players(session, campaign, MONDAY, 1)
    session.commit()
    question = qs.questions[0]
    return anna.id, question.id, question.options[0].id


def _answer(pid: int, qid: int, oid: int, when: datetime) -> dict:
    return {"participant_id": pid, "question_id": qid, "option_id": oid, "answered_at": when}


def test_rows_come_back_as_sqlalchemy_gives_them(autocommit, anna):
    pid, qid, oid = anna
    assert _FACTS.first(autocommit, {"pid": pid, "qid": qid})[3] is None
    when = datetime(2026, 11, 16, 7, 31, 5, 123456, tzinfo=UTC)
    _INSERT.run(autocommit, _answer(pid, qid, oid, when))

    row = _FACTS.first(autocommit, {"pid": pid, "qid": qid})
    expected = autocommit.execute(_FACTS.statement, {"pid": pid, "qid": qid}).first()
    assert tuple(row) == tuple(expected)
    email, first_day, skips, answered_at = row
    assert isinstance(first_day, date) and skips == ["2026-11-18"]
    assert answered_at == when and answered_at.tzinfo == UTC
    assert _FACTS.first(autocommit, {"pid": pid + 1000, "qid": qid}) is None


def test_a_second_insert_raises_psycopgs_integrity_error_and_the_connection_goes_on(autocommit, anna):
    pid, qid, oid = anna
    _INSERT.run(autocommit, _answer(pid, qid, oid, MONDAY))
    with pytest.raises(psycopg.IntegrityError):
        _INSERT.run(autocommit, _answer(pid, qid, oid, MONDAY))
    assert _FACTS.first(autocommit, {"pid": pid, "qid": qid})[3] == MONDAY


def test_prepared_statements_dropped_by_psycopg_are_prepared_again(autocommit, anna):
    pid, qid, _ = anna
    _FACTS.first(autocommit, {"pid": pid, "qid": qid})
    # psycopg sends DEALLOCATE ALL after such statements; so may an operator.
    autocommit.exec_driver_sql("DEALLOCATE ALL")
    assert _FACTS.first(autocommit, {"pid": pid, "qid": qid})[0].endswith("@example.org")


def test_inside_a_transaction_statements_belong_to_it(app, anna):
    pid, qid, oid = anna
    engine = create_engine(app.config["QUIZ_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            _INSERT.run(conn, _answer(pid, qid, oid, MONDAY))
            assert _FACTS.first(conn, {"pid": pid, "qid": qid})[3] == MONDAY
            transaction.rollback()
            assert _FACTS.first(conn, {"pid": pid, "qid": qid})[3] is None
            assert conn.scalar(text("SELECT count(*) FROM answer")) == 0
    finally:
        engine.dispose()
