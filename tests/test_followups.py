"""The follow-up and summary rules at single moments, the campaign switches
and the campaign command's settings. The whole campaign runs in
tests/test_followups_e2e.py."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import func, select

from quiz.answering.answers import record_answer
from quiz.delivery.planner import plan
from quiz.models import Campaign, Delivery
from tests.answer_factories import make_players, make_quiz, send_question
from tests.conftest import at

CREATED = at("2026-11-01 09:00")


def sent_question(session, person, question, when: datetime) -> None:
    session.add(
        Delivery(
            participant_id=person.id, kind="question", day=question.position, question_id=question.id,
            due_at=when, status="sent", sent_at=when, attempts=1, created_at=when,
        )
    )  # fmt: skip
    session.commit()


def planned(session, kind: str) -> list[tuple[int, int, datetime]]:
    rows = session.execute(
        select(Delivery.participant_id, Delivery.day, Delivery.due_at).where(Delivery.kind == kind)
    )
    return sorted(tuple(r) for r in rows)


def test_followup_waits_for_the_followup_time_and_is_planned_once(session):
    campaign, qs = make_quiz(session, CREATED)
    (anna,) = make_players(session, campaign, CREATED, 1)
    q1 = qs.questions[0]
    sent_question(session, anna, q1, at("2026-11-16 07:30"))
    record_answer(session, anna.id, q1.id, q1.options[1].id, at("2026-11-16 08:15"))

    plan(session, at("2026-11-16 14:59"))
    assert planned(session, "followup") == []
    report = plan(session, at("2026-11-16 15:00"))
    assert report.planned == {"followup": 1}
    assert planned(session, "followup") == [(anna.id, 1, at("2026-11-16 15:00"))]
    # later ticks, and a second scheduler, add nothing
    assert plan(session, at("2026-11-16 15:01")).total == 0
    assert plan(session, at("2026-11-17 15:00")).planned.get("followup") is None


def test_an_answer_on_saturday_gets_its_followup_on_monday(session):
    campaign, qs = make_quiz(session, CREATED)
    (anna,) = make_players(session, campaign, CREATED, 1)
    q1 = qs.questions[0]
    sent_question(session, anna, q1, at("2026-11-20 07:30"))  # Friday
    record_answer(session, anna.id, q1.id, q1.options[0].id, at("2026-11-21 11:00"))  # Saturday
    for moment in ("2026-11-21 15:00", "2026-11-22 15:00"):
        plan(session, at(moment))
    assert planned(session, "followup") == []
    plan(session, at("2026-11-23 15:30"))  # a late tick on Monday still plans it, due at 15:00
    assert planned(session, "followup") == [(anna.id, 1, at("2026-11-23 15:00"))]


def test_switched_off_followups_and_summary_plan_nothing(session):
    campaign, qs = make_quiz(session, CREATED, followups_enabled=False, summary_enabled=False)
    (anna,) = make_players(session, campaign, CREATED, 1)
    for q in qs.questions:
        sent_question(session, anna, q, at(f"2026-11-{15 + q.position} 07:30"))
        record_answer(session, anna.id, q.id, q.options[1].id, at(f"2026-11-{15 + q.position} 08:00"))
    for day in range(16, 28):
        plan(session, at(f"2026-11-{day} 16:00"))
    assert planned(session, "followup") == planned(session, "summary") == []

    campaign.followups_enabled = campaign.summary_enabled = True
    session.commit()
    plan(session, at("2026-11-30 15:00"))
    # on again: one follow-up a day (lowest first), and the summary the same day
    assert planned(session, "followup") == [(anna.id, 1, at("2026-11-30 15:00"))]
    assert planned(session, "summary") == [(anna.id, 0, at("2026-11-30 15:00"))]


def test_no_summary_before_the_last_question_went_out(session):
    campaign, qs = make_quiz(session, CREATED)
    (anna,) = make_players(session, campaign, CREATED, 1)
    for q in qs.questions[:4]:
        sent_question(session, anna, q, at(f"2026-11-{15 + q.position} 07:30"))
    plan(session, at("2026-11-20 15:00"))  # plans question 5 for today, no summary
    assert planned(session, "summary") == []
    last = session.scalar(select(Delivery).where(Delivery.kind == "question", Delivery.day == 5))
    last.status, last.sent_at = "sent", at("2026-11-20 15:00")
    session.commit()
    plan(session, at("2026-11-20 23:59"))
    assert planned(session, "summary") == []  # not on the day of the last question
    plan(session, at("2026-11-23 15:00"))
    assert planned(session, "summary") == [(anna.id, 0, at("2026-11-23 15:00"))]


def test_reminder_block_switched_off(app, session, smtp):
    campaign, qs = make_quiz(session, CREATED, reminders_enabled=False)
    (anna,) = make_players(session, campaign, CREATED, 1)
    send_question(app, session, anna, qs.questions[0], at("2026-11-16 07:30"))
    send_question(app, session, anna, qs.questions[1], at("2026-11-17 07:30"))
    day2 = smtp.messages[-1]
    assert day2["Subject"].startswith("Vraag 2 van 5")
    assert "NOG NIET BEANTWOORD" not in day2.get_body(("plain",)).get_content()
    assert "Nog niet beantwoord" not in day2.get_body(("html",)).get_content()

    campaign.reminders_enabled = True
    session.commit()
    send_question(app, session, anna, qs.questions[2], at("2026-11-18 07:30"))
    html = smtp.messages[-1].get_body(("html",)).get_content()
    assert "Nog niet beantwoord" in html and "Vraag 1: Vraag over stap 1" in html


def test_campaign_create_takes_the_followup_settings(runner, session):
    make_quiz(session, CREATED)
    result = runner.invoke(
        args=["quiz", "campaign", "create", "najaar", "--question-set", "meldcode",
              "--followup-time", "14:30", "--no-reminders", "--no-summary"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "najaar"))
    assert (campaign.followup_time, campaign.followups_enabled) == (time(14, 30), True)
    assert (campaign.reminders_enabled, campaign.summary_enabled) == (False, False)
    shown = runner.invoke(args=["quiz", "campaign", "show", "najaar"]).output
    assert "follow-ups    at 14:30; reminders off; summary off" in shown

    bad = runner.invoke(
        args=["quiz", "campaign", "create", "x", "--question-set", "meldcode", "--followup-time", "drie uur"]
    )
    assert bad.exit_code == 2 and "--followup-time" in bad.output
    assert session.scalar(select(func.count()).select_from(Campaign).where(Campaign.slug == "x")) == 0
