"""Retention: personal data is kept only as long as the quiz needs it.

The rules:
- A participant's personal data is erased (as in quiz.rights.gdpr.erase: answers
  stay, anonymously) once more than QUIZ_RETENTION_DAYS days (default 90)
  have passed since their last quiz day: the campaign's `ends_on` when set,
  else the day they got their last question (quiz.answering.answers.last_quiz_day,
  the same day the answer window is computed from). Counted in local dates
  of the campaign's time zone.
- A signup that was never confirmed is removed entirely (it has no answers)
  UNCONFIRMED_DAYS after the last signup attempt: the confirmation link of
  that attempt has expired by then.

`plan` decides (pure given `now`: it reads, changes nothing); `apply`
carries a plan out. The scheduler runs both daily, the CLI on demand
(`flask --app wsgi quiz retention [--dry-run]`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select
from sqlalchemy.orm import Session

from quiz.answering.answers import last_quiz_day
from quiz.models import Campaign, Participant, Question
from quiz.rights.gdpr import erase_where
from quiz.signup.participants import UNCONFIRMED_DAYS


def personal_data_due(last_day: date | None, today: date, days: int) -> bool:
    """True when more than `days` days have passed since `last_day` (local
    dates). No last day yet (not started) means not due."""
    return last_day is not None and today > last_day + timedelta(days=days)


def unconfirmed_cutoff(now: datetime) -> datetime:
    """Never-confirmed signups whose last attempt is before this are removed."""
    return now - timedelta(days=UNCONFIRMED_DAYS)


@dataclass
class RetentionPlan:
    # campaign id -> the first quiz days whose participants are due
    due_days: dict[int, list[date]] = field(default_factory=dict)
    erase_count: int = 0
    remove_count: int = 0
    cutoff: datetime | None = None

    def erase_condition(self) -> ColumnElement[bool]:
        if not self.due_days:
            return false()
        return and_(
            Participant.status != "erased",
            or_(
                *(
                    and_(Participant.campaign_id == cid, Participant.first_quiz_day.in_(days))
                    for cid, days in self.due_days.items()
                )
            ),
        )

    def remove_condition(self) -> ColumnElement[bool]:
        assert self.cutoff is not None
        return and_(
            Participant.confirmed_at.is_(None),
            func.coalesce(Participant.consent_at, Participant.created_at) < self.cutoff,
        )


def plan(session: Session, now: datetime, days: int) -> RetentionPlan:
    """What retention would erase and remove at `now` (see the module rules).

    Set-based: one row per (campaign, first quiz day), not per participant,
    so a campaign of 100,000 participants costs a handful of date sums.
    """
    result = RetentionPlan(cutoff=unconfirmed_cutoff(now))
    starts: dict[int, list[date]] = defaultdict(list)
    for campaign_id, first_day in session.execute(
        select(Participant.campaign_id, Participant.first_quiz_day)
        .where(Participant.status != "erased", Participant.first_quiz_day.is_not(None))
        .distinct()
    ):
        starts[campaign_id].append(first_day)
    for campaign_id, first_days in starts.items():
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            continue
        questions = select(func.count()).select_from(Question)
        total = session.scalar(questions.where(Question.question_set_id == campaign.question_set_id)) or 0
        today = now.astimezone(ZoneInfo(campaign.timezone)).date()
        # A transient stand-in participant: last_quiz_day reads only the first quiz day.
        due = [
            d
            for d in first_days
            if personal_data_due(last_quiz_day(campaign, Participant(first_quiz_day=d), total), today, days)
        ]
        if due:
            result.due_days[campaign_id] = sorted(due)
    count = select(func.count()).select_from(Participant)
    result.erase_count = session.scalar(count.where(result.erase_condition())) or 0
    result.remove_count = session.scalar(count.where(result.remove_condition())) or 0
    return result


def apply(session: Session, retention_plan: RetentionPlan, now: datetime) -> tuple[int, int]:
    """Erase and remove what `retention_plan` found, in one transaction;
    returns (erased, removed). Commits."""
    erased = erase_where(session, retention_plan.erase_condition(), now, "retention period ended")
    # Deliveries and link hits of a removed signup go with it (ON DELETE CASCADE).
    removed = session.execute(
        delete(Participant)
        .where(retention_plan.remove_condition())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return erased, removed


def run(session: Session, now: datetime, days: int, dry_run: bool = False) -> RetentionPlan:
    """Plan and (unless `dry_run`) apply; the plan's counts say what was (or would be) done."""
    retention_plan = plan(session, now, days)
    # Nothing due (most days): no write at all, so the daily run never holds
    # a write lock next to the sender on SQLite.
    if not dry_run and (retention_plan.erase_count or retention_plan.remove_count):
        retention_plan.erase_count, retention_plan.remove_count = apply(session, retention_plan, now)
    return retention_plan
