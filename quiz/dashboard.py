"""The organisers' figures for one campaign, in a handful of set-based queries.

Every figure is one GROUP BY over the campaign's rows, never a loop over
participants, so the dashboard costs the same few statements at 100 or at
100,000 participants (bench/dashboard.py measures it). Only confirmed answers
count (quiz.stats); a link hit is never an answer.

- funnel: signed up → confirmed → answered day 1 … N → answered all N
- per question: answers per option, % correct, % discussed in the team
- per sector and per organisation: participants, answers, % correct;
  organisations with fewer than MIN_ORGANISATION participants are grouped
  as "overig" so that no small team can be singled out
- deliveries by kind and status, the latest failures, bounces and unsubscribes
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from quiz.models import SECTORS, Answer, Campaign, Delivery, Option, Participant, Question

MIN_ORGANISATION = 5
OTHER = "overig"
FAILURES_SHOWN = 50


def _sum(condition) -> object:  # noqa: ANN001 - SQL expression in, SQL expression out
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def pct(part: int, whole: int) -> int | None:
    """Whole percent, or None when there is nothing to divide by."""
    return round(100 * part / whole) if whole else None


@dataclass
class QuestionFigures:
    question: Question
    counts: dict[int, int]  # option id -> answers
    discussed: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def correct(self) -> int:
        option = self.question.correct_option
        return self.counts.get(option.id, 0) if option is not None else 0

    @property
    def percent_correct(self) -> int | None:
        return pct(self.correct, self.total)

    @property
    def discussion_rate(self) -> int | None:
        return pct(self.discussed, self.total)


@dataclass
class GroupFigures:
    name: str
    participants: int = 0
    answers: int = 0
    correct: int = 0

    @property
    def percent_correct(self) -> int | None:
        return pct(self.correct, self.answers)


@dataclass
class Dashboard:
    campaign: Campaign
    signed_up: int
    confirmed: int
    answered_per_day: list[int]
    completed: int
    status_counts: dict[str, int]
    questions: list[QuestionFigures]
    sectors: list[GroupFigures]
    organisations: list[GroupFigures]
    deliveries: dict[str, dict[str, int]]  # kind -> status -> count
    failures: list[dict[str, object]] = field(default_factory=list)

    @property
    def failed_total(self) -> int:
        return sum(by_status.get("failed", 0) for by_status in self.deliveries.values())


def _questions(session: Session, campaign: Campaign) -> list[Question]:
    if campaign.question_set_id is None:
        return []
    return list(
        session.scalars(
            select(Question)
            .where(Question.question_set_id == campaign.question_set_id)
            .order_by(Question.position)
        )
    )


def build(session: Session, campaign: Campaign) -> Dashboard:
    """Every figure of the campaign's dashboard."""
    questions = _questions(session, campaign)
    question_ids = [q.id for q in questions]
    in_campaign = Participant.campaign_id == campaign.id

    status_counts = {
        status: int(n)
        for status, n in session.execute(
            select(Participant.status, func.count()).where(in_campaign).group_by(Participant.status)
        )
    }
    confirmed = (
        session.scalar(select(func.count()).where(in_campaign, Participant.confirmed_at.is_not(None))) or 0
    )

    # Answers per (question, option) and how many were discussed: one query.
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    discussed: dict[int, int] = defaultdict(int)
    if question_ids:
        rows = session.execute(
            select(Answer.question_id, Answer.option_id, func.count(), _sum(Answer.discussed_at.is_not(None)))
            .join(Participant, Participant.id == Answer.participant_id)
            .where(in_campaign, Answer.question_id.in_(question_ids))
            .group_by(Answer.question_id, Answer.option_id)
        )
        for question_id, option_id, n, n_discussed in rows:
            counts[question_id][option_id] = int(n)
            discussed[question_id] += int(n_discussed)
    figures = [QuestionFigures(q, counts.get(q.id, {}), discussed.get(q.id, 0)) for q in questions]

    completed = 0
    if question_ids:
        per_participant = (
            select(Answer.participant_id)
            .join(Participant, Participant.id == Answer.participant_id)
            .where(in_campaign, Answer.question_id.in_(question_ids))
            .group_by(Answer.participant_id)
            .having(func.count() >= len(question_ids))
            .subquery()
        )
        completed = session.scalar(select(func.count()).select_from(per_participant)) or 0

    return Dashboard(
        campaign=campaign,
        signed_up=sum(status_counts.values()),
        confirmed=int(confirmed),
        answered_per_day=[f.total for f in figures],
        completed=int(completed),
        status_counts=status_counts,
        questions=figures,
        sectors=by_sector(session, campaign.id, question_ids),
        organisations=by_organisation(session, campaign.id, question_ids),
        deliveries=delivery_counts(session, campaign.id),
        failures=failures(session, campaign.id),
    )


def _grouped(session: Session, campaign_id: int, question_ids: list[int], key) -> dict:  # noqa: ANN001
    """Participants (confirmed) and answers (with correct ones) per value of `key`."""
    in_campaign = Participant.campaign_id == campaign_id
    groups: dict[object, GroupFigures] = {}
    for value, shown, n in session.execute(
        select(key, func.min(Participant.organisation), func.count())
        .where(in_campaign, Participant.confirmed_at.is_not(None))
        .group_by(key)
    ):
        groups[value] = GroupFigures(name=(shown or "").strip() or "(niet ingevuld)", participants=int(n))
    if question_ids:
        for value, n, n_correct in session.execute(
            select(key, func.count(Answer.id), _sum(Option.is_correct.is_(True)))
            .select_from(Answer)
            .join(Participant, Participant.id == Answer.participant_id)
            .join(Option, Option.id == Answer.option_id)
            .where(in_campaign, Answer.question_id.in_(question_ids))
            .group_by(key)
        ):
            group = groups.setdefault(value, GroupFigures(name=""))
            group.answers, group.correct = int(n), int(n_correct)
    return groups


def by_sector(session: Session, campaign_id: int, question_ids: list[int]) -> list[GroupFigures]:
    groups = _grouped(session, campaign_id, question_ids, Participant.sector)
    out = []
    for value, group in groups.items():
        group.name = SECTORS.get(value or "", "Onbekend")
        out.append(group)
    return sorted(out, key=lambda g: (-g.participants, g.name))


def organisation_key():  # noqa: ANN201 - SQL expression
    """Organisations typed in different case or with stray spaces count as one."""
    return func.lower(func.trim(Participant.organisation))


def by_organisation(session: Session, campaign_id: int, question_ids: list[int]) -> list[GroupFigures]:
    """Organisations with at least MIN_ORGANISATION participants, biggest first,
    then the rest together as "overig"."""
    groups = _grouped(session, campaign_id, question_ids, organisation_key())
    shown: list[GroupFigures] = []
    other = GroupFigures(name=OTHER)
    for group in groups.values():
        if group.participants >= MIN_ORGANISATION:
            shown.append(group)
        else:
            other.participants += group.participants
            other.answers += group.answers
            other.correct += group.correct
    shown.sort(key=lambda g: (-g.participants, g.name.lower()))
    if other.participants or other.answers:
        shown.append(other)
    return shown


def delivery_counts(session: Session, campaign_id: int) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for kind, status, n in session.execute(
        select(Delivery.kind, Delivery.status, func.count())
        .join(Participant, Participant.id == Delivery.participant_id)
        .where(Participant.campaign_id == campaign_id)
        .group_by(Delivery.kind, Delivery.status)
    ):
        out[kind][status] = int(n)
    return dict(out)


def failures(session: Session, campaign_id: int, limit: int = FAILURES_SHOWN) -> list[dict[str, object]]:
    """The most recent failed deliveries, newest first."""
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.kind,
            Delivery.day,
            Delivery.attempts,
            Delivery.last_error,
            Delivery.due_at,
            Participant.email,
            Participant.status,
        )
        .join(Participant, Participant.id == Delivery.participant_id)
        .where(Participant.campaign_id == campaign_id, Delivery.status == "failed")
        .order_by(Delivery.due_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in rows]


def retry_failed(session: Session, campaign_id: int, now: datetime, delivery_id: int | None = None) -> int:
    """Queue failed deliveries of the campaign again, due now (one, or all).

    The same rule as `quiz outbox retry`: a bounced participant becomes active
    again and what the bounce cancelled is queued again (the address was fine
    after all: a full mailbox, a relay mistake); unsubscribed and erased
    participants are never mailed again. Commits; returns how many were queued.
    """
    ids_query = (
        select(Delivery.id)
        .join(Participant, Participant.id == Delivery.participant_id)
        .where(
            Participant.campaign_id == campaign_id,
            Delivery.status == "failed",
            Participant.status.not_in(("unsubscribed", "erased")),
        )
    )
    if delivery_id is not None:
        ids_query = ids_query.where(Delivery.id == delivery_id)
    ids = list(session.scalars(ids_query))
    if not ids:
        return 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        bounced = select(Delivery.participant_id).where(Delivery.id.in_(chunk))
        session.execute(
            update(Participant)
            .where(Participant.id.in_(bounced), Participant.status == "bounced")
            .values(status="active", status_changed_at=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Delivery)
            .where(
                Delivery.participant_id.in_(bounced),
                Delivery.status == "cancelled",
                Delivery.last_error == "recipient address bounced",
            )
            .values(status="pending", due_at=now, last_error=None, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(chunk), Delivery.status == "failed")
            .values(
                status="pending",
                due_at=now,
                attempts=0,
                next_attempt_at=None,
                last_error=None,
                claimed_by=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )
    session.commit()
    return len(ids)
