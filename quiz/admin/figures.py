"""The organisers' figures for one campaign, in a handful of set-based queries.

Every figure is one GROUP BY over the campaign's rows, never a loop over
participants, so the dashboard costs the same few statements at 100 or at
100,000 participants (bench/dashboard.py measures it). Only confirmed answers
count (quiz.answering.stats); a link hit is never an answer.

- funnel: signed up → confirmed → answered day 1 … N → answered all N
- per question: answers per option, % correct, % discussed in the team
  (answers are scanned twice: per question and option, and per participant)
- per sector and per organisation: participants, answers, % correct;
  organisations with fewer than MIN_ORGANISATION participants are grouped
  as "overig" so that no small team can be singled out
- deliveries by kind and status, the latest failures, bounces and unsubscribes
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, literal, select, text, tuple_
from sqlalchemy.orm import Session, selectinload

from quiz.answering.stats import discussion_percent, organisation_key
from quiz.delivery import outbox
from quiz.models import SECTORS, Answer, Campaign, Delivery, Participant, Question

MIN_ORGANISATION = 5
OTHER = "overig"
FAILURES_SHOWN = 50


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
        """Share of this question's answers marked "besproken" (quiz.answering.stats.discussion_percent)."""
        return discussion_percent(self.discussed, self.total)


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


def campaign_questions(session: Session, campaign: Campaign) -> list[Question]:
    """The campaign's questions in day order, with their options."""
    if campaign.question_set_id is None:
        return []
    return list(
        session.scalars(
            select(Question)
            .where(Question.question_set_id == campaign.question_set_id)
            .order_by(Question.position)
            .options(selectinload(Question.options))
        )
    )


def roomy_work_mem(session: Session) -> None:
    """Room for the figures' hash aggregates, for this transaction only.

    The per-participant and per-organisation aggregates (and the retention
    and item-analysis ones, quiz.admin.learning and quiz.admin.item_analysis)
    need about 10 MB at 100,000 participants; PostgreSQL's default 4 MB makes
    them spill to disk and doubles the time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '32MB'"))


def build(session: Session, campaign: Campaign) -> Dashboard:
    """Every figure of the campaign's dashboard, in five queries whatever its size."""
    roomy_work_mem(session)
    questions = campaign_questions(session, campaign)
    question_ids = [q.id for q in questions]
    in_campaign = Participant.campaign_id == campaign.id

    status_counts: dict[str, int] = defaultdict(int)
    confirmed = 0
    for status, is_confirmed, n in session.execute(
        select(Participant.status, Participant.confirmed_at.is_not(None), func.count())
        .where(in_campaign)
        .group_by(Participant.status, Participant.confirmed_at.is_not(None))
    ):
        status_counts[status] += int(n)
        confirmed += int(n) if is_confirmed else 0

    # Answers per (question, option) and how many were discussed: one query.
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    discussed: dict[int, int] = defaultdict(int)
    if question_ids:
        rows = session.execute(
            # count(column) counts the rows where it is not NULL: cheaper than
            # a SUM(CASE ...) over 300,000 rows.
            select(Answer.question_id, Answer.option_id, func.count(), func.count(Answer.discussed_at))
            .join(Participant, Participant.id == Answer.participant_id)
            .where(in_campaign, Answer.question_id.in_(question_ids))
            .group_by(Answer.question_id, Answer.option_id)
        )
        for question_id, option_id, n, n_discussed in rows:
            counts[question_id][option_id] = int(n)
            discussed[question_id] += int(n_discussed)
    figures = [QuestionFigures(q, counts.get(q.id, {}), discussed.get(q.id, 0)) for q in questions]

    groups = participant_groups(session, campaign.id, questions)
    return Dashboard(
        campaign=campaign,
        signed_up=sum(status_counts.values()),
        confirmed=confirmed,
        answered_per_day=[f.total for f in figures],
        completed=groups.completed,
        status_counts=dict(status_counts),
        questions=figures,
        sectors=by_sector(groups),
        organisations=by_organisation(groups),
        deliveries=delivery_counts(session, campaign.id),
        failures=failures(session, campaign.id),
    )


@dataclass
class ParticipantGroups:
    """Confirmed participants' figures per sector and per organisation
    (quiz.answering.stats.organisation_key: one entry whatever the case or spaces)."""

    sectors: dict[str | None, GroupFigures] = field(default_factory=dict)
    organisations: dict[str, GroupFigures] = field(default_factory=dict)
    completed: int = 0  # answered every question


def participant_groups(session: Session, campaign_id: int, questions: list[Question]) -> ParticipantGroups:
    """Confirmed participants per sector and per organisation with their
    answers, correct answers, and how many answered every question: one scan
    of the answers.

    The answers are first counted per participant (answer's unique key starts
    with participant_id), then summed per sector and per organisation as
    typed. On PostgreSQL both in one pass (GROUPING SETS: about 3,000 rows at
    100,000 participants instead of 20,000 sector × organisation pairs that
    Python would have to add up); elsewhere per pair. Spellings of one
    organisation are merged here, not with lower(trim()) in SQL: that and a
    min() per row cost PostgreSQL about 150 ms at 100,000 participants.
    """
    correct_ids = [q.correct_option.id for q in questions if q.correct_option is not None]
    per_participant = (
        select(
            Answer.participant_id.label("participant_id"),
            func.count().label("n"),
            func.count().filter(Answer.option_id.in_(correct_ids or [-1])).label("correct"),
        )
        .where(Answer.question_id.in_([q.id for q in questions] or [-1]))
        .group_by(Answer.participant_id)
        .subquery()
    )
    n = per_participant.c.n
    sector, organisation = Participant.sector, Participant.organisation
    if session.get_bind().dialect.name == "postgresql":
        # grouping() is 1 on a sector's row, 2 on an organisation's.
        grouped = func.grouping(sector, organisation)
        group_by = [func.grouping_sets(tuple_(sector), tuple_(organisation))]
    else:
        grouped, group_by = literal(0), [sector, organisation]  # each row counts for both
    rows = session.execute(
        select(
            grouped,
            sector,
            organisation,
            func.count(),
            func.coalesce(func.sum(n), 0),
            func.coalesce(func.sum(per_participant.c.correct), 0),
            func.count().filter(n >= len(questions)) if questions else literal(0),
        )
        .select_from(Participant)
        .outerjoin(per_participant, per_participant.c.participant_id == Participant.id)
        .where(Participant.campaign_id == campaign_id, Participant.confirmed_at.is_not(None))
        .group_by(*group_by)
    )
    out = ParticipantGroups()
    for grouped_by, sector_name, typed, *sums in rows:
        count, answers, correct, completed = (int(x) for x in sums)  # SUM(bigint) is numeric
        if grouped_by != 2:
            name = SECTORS.get(sector_name or "", "Onbekend")
            _add(out.sectors.setdefault(sector_name, GroupFigures(name)), count, answers, correct)
            out.completed += completed
        if grouped_by != 1:
            # One spelling per organisation whatever order the rows come in:
            # the smallest, as min(trim(organisation)) gave before.
            shown = (typed or "").strip() or "(niet ingevuld)"
            figures = out.organisations.setdefault(organisation_key(typed), GroupFigures(shown))
            figures.name = min(figures.name, shown)
            _add(figures, count, answers, correct)
    return out


def _add(figures: GroupFigures, participants: int, answers: int, correct: int) -> None:
    figures.participants += participants
    figures.answers += answers
    figures.correct += correct


def by_sector(groups: ParticipantGroups) -> list[GroupFigures]:
    return sorted(groups.sectors.values(), key=lambda g: (-g.participants, g.name))


def by_organisation(groups: ParticipantGroups) -> list[GroupFigures]:
    """Organisations with at least MIN_ORGANISATION participants, biggest first,
    then the rest together as "overig"."""
    shown: list[GroupFigures] = []
    other = GroupFigures(name=OTHER)
    for group in groups.organisations.values():
        if group.participants >= MIN_ORGANISATION:
            shown.append(group)
        else:
            _add(other, group.participants, group.answers, group.correct)
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
    """Queue failed deliveries of the campaign again (one, or all): the same
    rule as `quiz outbox retry` (quiz.delivery.outbox.requeue). Returns how many."""
    return outbox.requeue(session, now, "failed", campaign_id=campaign_id, delivery_id=delivery_id)
