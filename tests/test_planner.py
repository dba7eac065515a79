"""The planner at the row level: who is due which question, and when."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select, update

from quiz.delivery.planner import first_quiz_day, plan, question_thresholds, send_day
from quiz.models import Delivery, Participant
from tests.conftest import at
from tests.engine_factories import make_question_set
from tests.factories import make_campaign, make_participant

MON = date(2026, 11, 16)


@pytest.fixture
def campaign(session):
    now = at("2026-11-01 12:00")
    qs = make_question_set(session, now)
    return make_campaign(session, now, question_set_id=qs.id, start_mode="fixed", start_date=MON)


def questions(session, participant) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Delivery.day, Delivery.status)
        .where(Delivery.participant_id == participant.id, Delivery.kind == "question")
        .order_by(Delivery.day)
    ).all()
    return [tuple(r) for r in rows]


def send_everything(session, when) -> None:
    """What a drain that succeeds does to the rows (the SMTP side is tested elsewhere)."""
    session.execute(update(Delivery).where(Delivery.status == "pending").values(status="sent", sent_at=when))
    session.commit()


def test_fixed_start_first_quiz_day(campaign):
    assert first_quiz_day(campaign, at("2026-11-10 20:00")) == MON
    assert first_quiz_day(campaign, at("2026-11-16 07:29")) == MON
    # confirmed after the first send slot: a late joiner starts the next working day
    assert first_quiz_day(campaign, at("2026-11-16 07:31")) == date(2026, 11, 17)
    assert first_quiz_day(campaign, at("2026-11-20 09:00")) == date(2026, 11, 23)


def test_rolling_start_is_the_next_working_day(session, campaign):
    campaign.start_mode, campaign.start_date = "rolling", None
    assert first_quiz_day(campaign, at("2026-11-16 06:00")) == date(2026, 11, 17)
    assert first_quiz_day(campaign, at("2026-12-24 18:00")) == date(2026, 12, 28)  # over Christmas


def test_send_day_is_a_working_day_after_the_send_time(campaign):
    assert send_day(campaign, at("2026-11-16 07:29")) is None
    assert send_day(campaign, at("2026-11-16 07:30")) == MON
    assert send_day(campaign, at("2026-11-16 23:59")) == MON
    assert send_day(campaign, at("2026-11-21 09:00")) is None  # Saturday
    campaign.skip_dates = ["2026-11-17"]
    assert send_day(campaign, at("2026-11-17 09:00")) is None


def test_send_time_and_timezone_are_per_campaign(campaign):
    campaign.send_time, campaign.timezone = time(9, 0), "Europe/London"
    assert send_day(campaign, at("2026-11-16 09:59")) is None  # 08:59 in London
    assert send_day(campaign, at("2026-11-16 10:00")) == MON


def test_thresholds_count_back_working_days(campaign):
    assert question_thresholds(campaign, date(2026, 11, 20), 3) == {
        1: date(2026, 11, 20),
        2: date(2026, 11, 19),
        3: date(2026, 11, 18),
    }


def test_nothing_before_the_send_time_then_question_one(session, campaign):
    p = make_participant(session, campaign, at("2026-11-10 12:00"), first_quiz_day=MON)
    assert plan(session, at("2026-11-16 07:29")).total == 0
    report = plan(session, at("2026-11-16 07:30"))
    assert report.planned == {"question": 1}
    [delivery] = session.scalars(select(Delivery)).all()
    assert (delivery.day, delivery.due_at, delivery.status) == (1, at("2026-11-16 07:30"), "pending")
    assert delivery.question.position == 1
    assert questions(session, p) == [(1, "pending")]


def test_planning_twice_adds_nothing(session, campaign):
    make_participant(session, campaign, at("2026-11-10 12:00"), first_quiz_day=MON)
    assert plan(session, at("2026-11-16 07:30")).total == 1
    assert plan(session, at("2026-11-16 07:31")).total == 0
    send_everything(session, at("2026-11-16 07:31"))
    # sent today: question 2 waits for tomorrow even though the row is settled
    assert plan(session, at("2026-11-16 12:00")).total == 0


def test_one_question_per_working_day_then_completed(session, campaign):
    p = make_participant(session, campaign, at("2026-11-10 12:00"), first_quiz_day=MON)
    for day in (16, 17, 18, 19, 20):
        assert plan(session, at(f"2026-11-{day} 07:30")).planned == {"question": 1}
        send_everything(session, at(f"2026-11-{day} 07:31"))
    assert [d for d, _ in questions(session, p)] == [1, 2, 3, 4, 5]
    report = plan(session, at("2026-11-23 07:30"))
    assert report.total == 0 and report.completed == 1
    session.refresh(p)
    assert p.status == "completed"


def test_a_day_the_scheduler_was_down_shifts_the_sequence(session, campaign):
    p = make_participant(session, campaign, at("2026-11-10 12:00"), first_quiz_day=MON)
    plan(session, at("2026-11-16 07:30"))
    send_everything(session, at("2026-11-16 07:31"))
    # Tuesday: no tick at all. Wednesday: question 2, not 2 and 3.
    assert plan(session, at("2026-11-18 07:30")).total == 1
    assert questions(session, p) == [(1, "sent"), (2, "pending")]


def test_no_question_after_the_campaign_ends(session, campaign):
    """An organiser ended the campaign on Wednesday (the last day answers
    count): Thursday's question would arrive with expired links, so none goes out."""
    campaign.ends_on = date(2026, 11, 18)
    p = make_participant(session, campaign, at("2026-11-10 12:00"), first_quiz_day=MON)
    for day in (16, 17, 18, 19, 20):
        plan(session, at(f"2026-11-{day} 07:30"))
        send_everything(session, at(f"2026-11-{day} 07:31"))
    assert [d for d, _ in questions(session, p)] == [1, 2, 3]
    session.refresh(p)
    assert p.status == "completed"


def test_an_unsent_question_holds_back_the_next(session, campaign):
    p = make_participant(session, campaign, at("2026-11-10 12:00"), first_quiz_day=MON)
    plan(session, at("2026-11-16 07:30"))
    session.execute(update(Delivery).values(status="deferred"))  # relay down all Monday
    session.commit()
    assert plan(session, at("2026-11-17 07:30")).total == 0
    send_everything_deferred = update(Delivery).values(status="sent", sent_at=at("2026-11-17 08:00"))
    session.execute(send_everything_deferred)
    session.commit()
    # question 1 arrived on Tuesday: question 2 is not sent the same day
    assert plan(session, at("2026-11-17 09:00")).total == 0
    assert plan(session, at("2026-11-18 07:30")).total == 1
    assert questions(session, p) == [(1, "sent"), (2, "pending")]


def test_weekends_holidays_and_skip_dates_send_nothing(session, campaign):
    campaign.skip_dates = ["2026-11-18"]
    session.commit()
    make_participant(session, campaign, at("2026-11-10 12:00"), first_quiz_day=MON)
    for moment in ("2026-11-18 07:30", "2026-11-21 07:30", "2026-11-22 12:00"):
        assert plan(session, at(moment)).total == 0


def test_late_joiner_and_inactive_participants(session, campaign):
    now = at("2026-11-10 12:00")
    early = make_participant(session, campaign, now, "vroeg@example.org", first_quiz_day=MON)
    late = make_participant(session, campaign, now, "laat@example.org", first_quiz_day=date(2026, 11, 17))
    for status in ("pending", "unsubscribed", "bounced", "erased"):
        make_participant(session, campaign, now, f"{status}@example.org", status=status, first_quiz_day=MON)
    plan(session, at("2026-11-16 07:30"))
    assert questions(session, early) == [(1, "pending")] and questions(session, late) == []
    send_everything(session, at("2026-11-16 07:31"))
    plan(session, at("2026-11-17 07:30"))
    assert questions(session, early)[-1] == (2, "pending")
    assert questions(session, late) == [(1, "pending")]
    assert session.scalar(select(Delivery).where(Delivery.participant_id > late.id)) is None


def test_campaign_without_questions_plans_nothing(session):
    c = make_campaign(session, at("2026-11-01 12:00"), slug="leeg")
    make_participant(session, c, at("2026-11-10 12:00"), first_quiz_day=MON)
    assert plan(session, at("2026-11-16 07:30")).total == 0


def test_participant_status_is_left_alone_for_other_campaigns(session, campaign):
    other = make_campaign(session, at("2026-11-01 12:00"), slug="ander", start_mode="rolling")
    make_participant(session, other, at("2026-11-10 12:00"), first_quiz_day=MON)
    assert plan(session, at("2026-11-16 07:30")).total == 0
    assert session.scalar(select(Participant.status).where(Participant.campaign_id == other.id)) == "active"
