"""Two confirmations at the same moment (a double tap, a resubmitted form):
exactly one answer is stored, by the unique key, and both people see a page."""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request
from datetime import date
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from quiz.answering.answers import record_answer
from quiz.db import database, session_scope, utcnow
from quiz.links import answer_token
from quiz.models import Answer
from tests.answer_factories import make_players, make_quiz

ROUNDS = 8


def together(*calls):  # noqa: ANN001, ANN201
    """Run the calls in threads released at the same instant; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def today() -> date:
    return utcnow().astimezone(ZoneInfo("Europe/Amsterdam")).date()


def test_two_sessions_insert_at_once_one_answer(app):
    """Two database connections insert the same answer at once."""
    now = utcnow()
    with session_scope(app) as s:
        campaign, qs = make_quiz(s, now)
        players = make_players(s, campaign, now, ROUNDS, first_day=today())
        pairs = [(p.id, q.id, q.options[0].id, q.options[1].id) for p in players for q in qs.questions[:1]]

    def confirm(pid: int, qid: int, oid: int):  # noqa: ANN202
        with app.app_context(), session_scope(app) as s:
            answer, created = record_answer(s, pid, qid, oid, utcnow())
            return created, answer.option_id

    for pid, qid, first, second in pairs:
        one, two = together(partial(confirm, pid, qid, first), partial(confirm, pid, qid, second))
        assert sorted([one[0], two[0]]) == [False, True]
        assert one[1] == two[1]  # both report the answer that counts
    with session_scope(app) as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == len(pairs)


def test_double_submit_over_http_records_once(live_server):
    app = live_server.app
    now = utcnow()
    with session_scope(app) as s:
        campaign, qs = make_quiz(s, now)
        players = make_players(s, campaign, now, ROUNDS, first_day=today())
        question = qs.questions[0]
        option_ids = [o.id for o in question.options]
        with app.app_context():
            urls = [f"{live_server.url}/a/{answer_token(p.id, question.id)}" for p in players]

    def post(url: str, option_id: int):  # noqa: ANN202
        body = urllib.parse.urlencode({"option": option_id}).encode()
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=30) as response:
            return response.status, response.read().decode()

    for url in urls:
        (s1, page1), (s2, page2) = together(
            partial(post, url, option_ids[0]), partial(post, url, option_ids[2])
        )
        assert (s1, s2) == (200, 200)
        repeats = ["Je hebt deze vraag al beantwoord" in page for page in (page1, page2)]
        assert sorted(repeats) == [False, True], "one confirmation, one 'already answered'"
    with session_scope(app) as s:
        answers = s.scalars(select(Answer)).all()
        assert len(answers) == ROUNDS
        assert len({a.participant_id for a in answers}) == ROUNDS
    database(app).dispose()
