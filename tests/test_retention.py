"""Retention in time-travel: the CLI, the scheduler job and the rules."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from quiz.delivery.sender import send_due
from quiz.models import Answer, Delivery, Participant
from quiz.rights.retention import personal_data_due
from quiz.signup import participants
from tests.answer_factories import make_quiz
from tests.conftest import at
from tests.factories import make_campaign, make_participant

MONDAY = at("2026-11-16 07:30")  # first quiz day; the fifth question goes out on Friday 20 November


@pytest.fixture
def quiz(session):
    campaign, qs = make_quiz(session, MONDAY)
    anna = make_participant(session, campaign, MONDAY, email="anna@example.org", name="Anna")
    # Started a week later: her last quiz day is Friday 27 November.
    bram = make_participant(
        session, campaign, MONDAY, email="bram@example.org", first_quiz_day=date(2026, 11, 23)
    )
    q1 = qs.questions[0]
    session.add(
        Answer(participant_id=anna.id, question_id=q1.id, option_id=q1.options[1].id, answered_at=MONDAY)
    )
    session.commit()
    return {"campaign": campaign, "anna": anna, "bram": bram}


def state(session, participant_id):
    session.expire_all()
    p = session.get(Participant, participant_id)
    return None if p is None else (p.status, p.email)


def retention(runner, *args):
    result = runner.invoke(args=["quiz", "retention", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_rule_more_than_n_days_after_the_last_quiz_day():
    last = date(2026, 11, 20)
    assert not personal_data_due(last, date(2027, 2, 18), 90)  # day 90
    assert personal_data_due(last, date(2027, 2, 19), 90)  # day 91
    assert not personal_data_due(None, date(2030, 1, 1), 90)  # never started


def test_cli_erases_90_days_after_each_participants_last_day(runner, session, quiz):
    anna, bram = quiz["anna"].id, quiz["bram"].id
    with time_machine.travel(at("2027-02-18 23:59"), tick=False):
        assert "of 0 participants" in retention(runner)
    assert state(session, anna) == ("active", "anna@example.org")

    with time_machine.travel(at("2027-02-19 00:01"), tick=False):
        output = retention(runner, "--dry-run")
        assert "Would erase the personal data of 1 participants" in output
        assert state(session, anna) == ("active", "anna@example.org")  # a dry run changes nothing
        assert "Erased the personal data of 1 participants" in retention(runner)
    assert state(session, anna) == ("erased", None)
    assert state(session, bram) == ("active", "bram@example.org")  # his quiz ended a week later
    # Anna's answer stays for the statistics.
    assert session.scalar(select(func.count()).select_from(Answer).where(Answer.participant_id == anna)) == 1

    with time_machine.travel(at("2027-02-26 00:01"), tick=False):
        assert "Erased the personal data of 1 participants" in retention(runner)
        assert "of 0 participants" in retention(runner)  # nothing left: idempotent
    assert state(session, bram) == ("erased", None)


def test_the_campaigns_end_date_counts_when_set(runner, session, quiz):
    quiz["campaign"].ends_on = date(2026, 12, 31)
    session.commit()
    with time_machine.travel(at("2027-03-31 12:00"), tick=False):
        assert "of 0 participants" in retention(runner)
    with time_machine.travel(at("2027-04-01 12:00"), tick=False):
        assert "Erased the personal data of 2 participants" in retention(runner)


def test_the_setting_changes_the_period(app_config, session):
    from quiz import create_app
    from quiz.db import database, session_scope
    from quiz.rights.retention import run

    app = create_app({**app_config, "QUIZ_RETENTION_DAYS": 30})
    assert app.config["QUIZ_RETENTION_DAYS"] == 30
    try:
        with app.app_context(), session_scope(app) as s:
            campaign, _ = make_quiz(s, MONDAY)
            make_participant(s, campaign, MONDAY)
            assert run(s, at("2026-12-20 12:00"), 30, dry_run=True).erase_count == 0
            assert run(s, at("2026-12-21 12:00"), 30, dry_run=True).erase_count == 1
    finally:
        database(app).dispose()


def test_unconfirmed_signups_are_removed_after_7_days(app, runner, session, smtp):
    campaign = make_campaign(session, MONDAY)
    data = participants.SignupData("wacht@example.org", "Wim", "School", "onderwijs", None)
    participants.register(session, campaign, data, MONDAY, timedelta(minutes=10))
    # A second attempt three days later (the first mail got lost) restarts the 7 days.
    late = participants.SignupData("later@example.org", None, "School", "onderwijs", None)
    participants.register(session, campaign, late, MONDAY, timedelta(minutes=10))
    send_due(app, lambda: MONDAY, "test")
    outcome = participants.register(
        session, campaign, late, MONDAY + timedelta(days=3), timedelta(minutes=10)
    )
    assert outcome == "resent"

    with time_machine.travel(MONDAY + timedelta(days=7, minutes=-1), tick=False):
        assert "removed 0 signups" in retention(runner)
    with time_machine.travel(MONDAY + timedelta(days=7, minutes=1), tick=False):
        assert "removed 1 signups" in retention(runner)
    emails = session.scalars(select(Participant.email)).all()
    assert emails == ["later@example.org"]
    # The removed signup's confirmation delivery went with it.
    assert (
        session.scalars(select(Delivery.participant_id)).all()
        == session.scalars(select(Participant.id)).all()
    )


def test_the_scheduler_runs_retention_daily_at_night(app, session, quiz):
    import scheduler

    jobs = {job.id: job for job in scheduler.build_scheduler(app, threading.Event()).get_jobs()}
    job = jobs["retention"]
    assert str(job.trigger.timezone) == "Europe/Amsterdam"
    assert "hour='3'" in str(job.trigger) and "minute='30'" in str(job.trigger)
    assert job.coalesce is True

    with time_machine.travel(at("2027-02-19 03:30"), tick=False):
        scheduler.retention(app)
    assert state(session, quiz["anna"].id) == ("erased", None)
