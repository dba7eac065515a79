"""The operators' commands: quiz tick, quiz outbox status|retry, quiz campaign create|list|show."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from sqlalchemy import select

from quiz.models import Campaign, Delivery, Participant
from tests.conftest import at
from tests.engine_factories import make_question_set
from tests.factories import make_campaign, make_participant

MON = date(2026, 11, 16)


@pytest.fixture
def campaign(session):
    qs = make_question_set(session, at("2026-11-01 12:00"), slug="meldcode")
    return make_campaign(
        session, at("2026-11-01 12:00"), question_set_id=qs.id, start_mode="fixed", start_date=MON
    )


def test_tick_plans_and_sends_as_if_it_were_then(runner, session, smtp, campaign):
    for i in range(3):
        make_participant(session, campaign, at("2026-11-10 12:00"), f"p{i}@example.org", first_quiz_day=MON)
    early = runner.invoke(args=["quiz", "tick", "--now", "2026-11-16T07:00+01:00"])
    assert early.exit_code == 0 and "Planned: 0" in early.output and smtp.messages == []
    result = runner.invoke(args=["quiz", "tick", "--now", "2026-11-16T07:30+01:00"])
    assert result.exit_code == 0, result.output
    assert "Planned: 3 (question for day 1: 3)" in result.output and "Sent 3," in result.output
    assert "Sending: 3/3" in result.output  # plain progress lines when not on a terminal
    assert sorted(m["Subject"] for m in smtp.messages) == ["Vraag 1 van 5: Vraag 1"] * 3


def test_tick_says_which_day_it_planned(runner, session, smtp, campaign):
    """Issue 19, item 9: on a participant's day 2, `tick --now` said
    "Planned: 1 (question 1)": the count per kind read as question number 1."""
    make_participant(session, campaign, at("2026-11-10 12:00"), "p@example.org", first_quiz_day=MON)
    assert "Planned: 1 (question for day 1: 1)" in runner.invoke(
        args=["quiz", "tick", "--now", "2026-11-16T07:30+01:00"]
    ).output
    day2 = runner.invoke(args=["quiz", "tick", "--now", "2026-11-17T07:30+01:00"])
    assert day2.exit_code == 0, day2.output
    assert day2.output.splitlines()[0] == "Planned: 1 (question for day 2: 1)"
    # The same moment again plans nothing new, and says so.
    again = runner.invoke(args=["quiz", "tick", "--now", "2026-11-17T07:30+01:00"])
    assert again.output.splitlines()[0] == "Planned: 0"
    assert [m["Subject"] for m in smtp.messages] == ["Vraag 1 van 5: Vraag 1", "Vraag 2 van 5: Vraag 2"]


def test_tick_refuses_a_moment_without_offset(runner):
    result = runner.invoke(args=["quiz", "tick", "--now", "2026-11-16 07:30"])
    assert result.exit_code == 2 and "UTC offset" in result.output


def test_outbox_status_and_retry_of_a_bounce(runner, session, smtp, campaign):
    p = make_participant(session, campaign, at("2026-11-10 12:00"), "weg@example.org", first_quiz_day=MON)
    smtp.refuse["weg@example.org"] = "550 5.1.1 No such user"
    runner.invoke(args=["quiz", "tick", "--now", "2026-11-16T07:30+01:00"])
    status = runner.invoke(args=["quiz", "outbox", "status"])
    assert "question" in status.output and "failed" in status.output
    assert "550 5.1.1 No such user" in status.output
    session.expire_all()
    assert session.get(Participant, p.id).status == "bounced"

    smtp.refuse.clear()
    # A retried delivery is due when the operator retries it (a new retry horizon).
    with time_machine.travel(at("2026-11-16 07:45"), tick=False):
        retry = runner.invoke(args=["quiz", "outbox", "retry", "--failed", "--campaign", campaign.slug])
    assert retry.exit_code == 0 and "Queued again: 1 failed" in retry.output
    runner.invoke(args=["quiz", "tick", "--now", "2026-11-16T08:00+01:00"])
    session.expire_all()
    assert session.get(Participant, p.id).status == "active"
    assert session.scalar(select(Delivery.status)) == "sent"
    assert len(smtp.to("weg@example.org")) == 1


def test_retry_unknown_campaign(runner):
    result = runner.invoke(args=["quiz", "outbox", "retry", "--campaign", "bestaat-niet"])
    assert result.exit_code == 2 and "no campaign 'bestaat-niet'" in result.output


def test_campaign_create_list_show(runner, session, campaign):
    result = runner.invoke(
        args=[
            "quiz", "campaign", "create", "mei-2026", "--name", "Mei", "--question-set", "meldcode",
            "--start-mode", "fixed", "--start-date", "2026-05-11", "--send-time", "08:00",
            "--skip-date", "2026-05-13", "--signup-opens", "2026-05-01 09:00",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    created = session.scalar(select(Campaign).where(Campaign.slug == "mei-2026"))
    assert created.skip_dates == ["2026-05-13"] and created.send_time.hour == 8
    assert created.signup_opens_at == at("2026-05-01 09:00")
    assert "mei-2026" in runner.invoke(args=["quiz", "campaign", "list"]).output
    show = runner.invoke(args=["quiz", "campaign", "show", "mei-2026"]).output
    # Ascension Day (14th) and the skip date (13th) are not quiz days
    assert "1: Mon 11 May, 2: Tue 12 May, 3: Fri 15 May, 4: Mon 18 May, 5: Tue 19 May" in show


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--question-set", "nope"], "no question set 'nope'"),
        (["x", "--question-set", "meldcode", "--start-mode", "fixed"], "needs --start-date"),
        (["x", "--question-set", "meldcode", "--send-time", "7 uur"], "HH:MM"),
        (["x", "--question-set", "meldcode", "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["Fout Slug", "--question-set", "meldcode"], "lower-case"),
        (["test", "--question-set", "meldcode"], "exists already"),
    ],
)
def test_campaign_create_refuses_bad_input(runner, session, campaign, args, message):
    result = runner.invoke(args=["quiz", "campaign", "create", *args])
    assert result.exit_code == 2 and message in result.output
    assert session.scalar(select(Campaign).where(Campaign.slug == "x")) is None
