"""Scheduling rules: when a participant's quiz starts and which deliveries are due.

The rules are small and take `now`; `plan(session, now)` applies them to the
whole database with one INSERT … SELECT per campaign and kind, so planning a
morning for 100,000 participants is a handful of statements, not a Python
loop over participants. Inserts go through the outbox's unique key
(participant, kind, day) with ON CONFLICT DO NOTHING: planning twice, or in
two scheduler processes at once, adds nothing the second time.

More kinds register one more rule with `@rule("kind")`: the follow-up and
summary rules live in `quiz.followups.rules` (imported at the end of this module).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import Date, Integer, String

from quiz.db import UTCDateTime
from quiz.delivery.workdays import (
    first_working_day_on_or_after,
    is_working_day,
    next_working_day,
    nth_working_day_back,
    parse_skip_dates,
)
from quiz.models import Campaign, Delivery, Participant, Question

# A question delivery in one of these states lets the next question follow;
# pending, sending or deferred ones hold it back, so a relay that is down for
# a day never leads to two questions arriving together.
SETTLED = ("sent", "failed")


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def send_slot(campaign: Campaign, day: date) -> datetime:
    """The moment (aware) of the campaign's send time on `day`, local time."""
    return datetime.combine(day, campaign.send_time, tzinfo=ZoneInfo(campaign.timezone))


def local_midnight(day: date, tz: str) -> datetime:
    """The start of `day` in `tz`, as an aware moment."""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz))


def first_quiz_day(campaign: Campaign, confirmed_at: datetime) -> date:
    """The participant's first quiz day (question 1).

    fixed:   who confirms before the first send slot of the start date starts on
             the first working day on or after the start date; a later joiner
             starts on the next working day after confirming.
    rolling: the next working day after the local day of confirmation.
    """
    skips = parse_skip_dates(campaign.skip_dates or ())
    if campaign.start_mode == "fixed" and campaign.start_date is not None:
        start = first_working_day_on_or_after(campaign.start_date, skips)
        if confirmed_at < send_slot(campaign, start):
            return start
    return next_working_day(local_date(confirmed_at, campaign.timezone), skips)


def send_day(campaign: Campaign, now: datetime) -> date | None:
    """Today's local date if quiz emails may go out now, else None.

    Quiz emails go out on working days, from the campaign's send time until
    midnight (local time). A scheduler that was down at the send time catches
    up later the same day; one that was down all day sends that day's
    question the next working day instead (the sequence shifts, see
    `question_thresholds`).
    """
    today = local_date(now, campaign.timezone)
    skips = parse_skip_dates(campaign.skip_dates or ())
    if is_working_day(today, skips) and now >= send_slot(campaign, today):
        return today
    return None


def question_thresholds(campaign: Campaign, today: date, count: int) -> dict[int, date]:
    """For each question position k in 1..count, the latest first quiz day for
    which question k may go out on `today`.

    Rule: question k is due at the first send slot on or after the
    participant's k-th working day, and never on the same local day as
    question k-1 (that part is checked against the outbox). Having had k
    working days by `today` means the first quiz day is on or before the k-th
    working day counting back from `today`.
    """
    skips = parse_skip_dates(campaign.skip_dates or ())
    return {k: nth_working_day_back(today, k, skips) for k in range(1, count + 1)}


@dataclass
class PlanContext:
    """What every rule of one campaign needs for one planning round."""

    campaign: Campaign
    now: datetime
    today: date
    slot: datetime
    midnight: datetime  # start of `today`, local time


@dataclass
class PlanReport:
    planned: dict[str, int] = field(default_factory=dict)
    completed: int = 0

    @property
    def total(self) -> int:
        return sum(self.planned.values())


Rule = Callable[[Session, PlanContext], int]
_RULES: dict[str, Rule] = {}


def register_rules(rules: Mapping[str, Rule]) -> None:
    """Add the planning rules of later stages (create_app registers the
    follow-up and summary rules): each round runs them after the question
    rule, in the order given. Registering a kind again replaces its rule."""
    _RULES.update(rules)


def rule(kind: str) -> Callable[[Rule], Rule]:
    """Register the planning rule of one delivery kind (this module's own)."""

    def register(fn: Rule) -> Rule:
        _RULES[kind] = fn
        return fn

    return register


def plan(session: Session, now: datetime) -> PlanReport:
    """Enqueue every delivery that is due at `now`, for every campaign; commits.

    Idempotent: what is already in the outbox is left alone.
    """
    report = PlanReport()
    for campaign in session.scalars(select(Campaign).order_by(Campaign.id)).all():
        report.completed += complete_participants(session, campaign, now)
        today = send_day(campaign, now)
        if today is None:
            session.commit()
            continue
        ctx = PlanContext(
            campaign=campaign,
            now=now,
            today=today,
            slot=send_slot(campaign, today),
            midnight=local_midnight(today, campaign.timezone),
        )
        for kind, fn in _RULES.items():
            added = fn(session, ctx)
            if added:
                report.planned[kind] = report.planned.get(kind, 0) + added
        session.commit()
    return report


def _insert(session: Session):  # noqa: ANN202 - dialect-specific Insert
    return (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)(Delivery)


@rule("question")
def plan_questions(session: Session, ctx: PlanContext) -> int:
    """Enqueue the next question for every active participant who is due today.

    A participant's next question is k = (highest question enqueued) + 1. It
    is due today when the participant has had k working days by today (first
    quiz day on or before threshold k) and question k-1 was settled (sent or
    failed) before today began. The delivery is due at today's send slot.
    No question goes out after the campaign's `ends_on` (the last day answers
    count, quiz.answering.answers): its links would already be expired.
    """
    campaign = ctx.campaign
    if campaign.question_set_id is None:
        return 0
    if campaign.ends_on is not None and ctx.today > campaign.ends_on:
        return 0
    count = session.scalar(select(func.count()).where(Question.question_set_id == campaign.question_set_id))
    if not count:
        return 0
    thresholds = question_thresholds(campaign, ctx.today, count)

    # Each participant's highest question so far: one grouped scan of the
    # outbox, joined, instead of a subquery per participant.
    last = (
        select(Delivery.participant_id, func.max(Delivery.day).label("day"))
        .where(Delivery.kind == "question")
        .group_by(Delivery.participant_id)
        .subquery("last")
    )
    prev = aliased(Delivery)
    next_position = func.coalesce(last.c.day, 0) + 1
    latest_first_day = case(
        {k: literal(day, Date()) for k, day in thresholds.items()}, value=Question.position
    )
    previous_settled_before_today = or_(
        last.c.day.is_(None),
        and_(
            prev.status.in_(SETTLED),
            func.coalesce(prev.sent_at, prev.due_at) < literal(ctx.midnight, UTCDateTime()),
        ),
    )
    due = (
        select(
            Participant.id,
            literal("question", String()),
            Question.position,
            Question.id,
            literal(ctx.slot, UTCDateTime()),
            literal("pending", String()),
            literal(0, Integer()),
            literal(ctx.now, UTCDateTime()),
        )
        .select_from(Participant)
        .outerjoin(last, last.c.participant_id == Participant.id)
        .join(
            Question,
            and_(Question.question_set_id == campaign.question_set_id, Question.position == next_position),
        )
        .outerjoin(
            prev,
            and_(prev.participant_id == Participant.id, prev.kind == "question", prev.day == last.c.day),
        )
        .where(
            Participant.campaign_id == campaign.id,
            Participant.status == "active",
            Participant.first_quiz_day <= latest_first_day,
            previous_settled_before_today,
        )
    )
    stmt = (
        _insert(session)
        .from_select(
            ["participant_id", "kind", "day", "question_id", "due_at", "status", "attempts", "created_at"],
            due,
        )
        .on_conflict_do_nothing(index_elements=["participant_id", "kind", "day"])
        # SQLAlchemy keeps rowcount for INSERTs only when asked to.
        .execution_options(preserve_rowcount=True)
    )
    return session.execute(stmt).rowcount


def complete_participants(session: Session, campaign: Campaign, now: datetime) -> int:
    """Active participants whose last question is settled become `completed`,
    and so does everyone still active once the campaign's `ends_on` has passed.

    Completed participants get no more questions but keep their links (their
    answers, "my quiz" page) working.
    """
    if campaign.question_set_id is None:
        return 0
    last = select(func.max(Question.position)).where(Question.question_set_id == campaign.question_set_id)
    last_position = session.scalar(last)
    if not last_position:
        return 0
    done = exists().where(
        Delivery.participant_id == Participant.id,
        Delivery.kind == "question",
        Delivery.day == last_position,
        Delivery.status.in_(SETTLED),
    )
    if campaign.ends_on is not None and local_date(now, campaign.timezone) > campaign.ends_on:
        done = true()  # the campaign is over: no question will follow
    result = session.execute(
        update(Participant)
        .where(Participant.campaign_id == campaign.id, Participant.status == "active", done)
        .values(status="completed", status_changed_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
