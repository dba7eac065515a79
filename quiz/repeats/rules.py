"""Planning rule of the repeat questions (herhaalvragen), registered with the
planner by create_app (RULES), so `quiz.delivery.planner.plan` runs it in the
same round, on working days only, and through the same outbox unique key
(participant, kind, day) as the questions: ON CONFLICT DO NOTHING makes
planning twice, or in two scheduler processes, add nothing the second time.

The rules, in the campaign's local time:
- Who: participants who finished the week (status `completed`, so their last
  question went out), still receive mail and did not stop the repeats.
- When: round n is due n * `repeat_interval_days` working days after the
  participant's last quiz day (the day their last question went out): 7 and
  14 by default. Rounds go up to `repeat_max`.
- Which questions (`Campaign.repeats`): 'wrong' = the questions they got and
  answered wrongly or not at all in the week; 'all' = every question they
  got. Either way not the ones already mastered: answered correctly on an
  earlier round's repeat.
- One a day: a repeat goes out at the send time of a working day on which no
  other quiz email (question or repeat) went out or is planned, and only
  once the previous one settled, so a round's questions are spread one per
  working day, lowest question first, and a relay that is down never makes
  two arrive together. Follow-ups and the summary are no quiz emails and
  follow their own rules.
- The outbox key is (participant, 'repeat', 100 * round + position).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import Integer, String

from quiz.db import UTCDateTime
from quiz.delivery.planner import SETTLED, PlanContext, _insert, local_midnight
from quiz.delivery.workdays import nth_working_day_back, parse_skip_dates, repeat_round_start
from quiz.models import Answer, Campaign, Delivery, Option, Participant, Question, RepeatAnswer

# Rounds are numbered into the outbox's `day`: 100 * round + position.
ROUND_STEP = 100
# The emails that count for "one quiz email a day".
QUIZ_EMAILS = ("question", "repeat")
_UNSETTLED = ("pending", "sending", "deferred")
_COLUMNS = ["participant_id", "kind", "day", "question_id", "due_at", "status", "attempts", "created_at"]


def repeat_day(round_: int, position: int) -> int:
    """The outbox `day` of round `round_` of question `position`."""
    return ROUND_STEP * round_ + position


def split_day(day: int) -> tuple[int, int]:
    """(round, position) of a repeat delivery's `day`."""
    return divmod(day, ROUND_STEP)


def round_deadlines(campaign: Campaign, today: date) -> dict[int, datetime]:
    """For each round n in 1..repeat_max, the moment before which the
    participant's last question must have gone out for round n to be due on
    `today`. Round n is due once k = n * interval working days lie after the
    last quiz day, up to and including `today`: the k-th working day counting
    back from `today` must come after that day, so the deadline is the local
    midnight that begins it. (A last question sent on a weekend, as a retry
    can be, then counts from the next working day.) Pure."""
    skips = parse_skip_dates(campaign.skip_dates or ())
    return {
        n: local_midnight(
            nth_working_day_back(today, n * campaign.repeat_interval_days, skips), campaign.timezone
        )
        for n in range(1, campaign.repeat_max + 1)
    }


def round_start(campaign: Campaign, last_quiz_day: date, round_: int) -> date:
    """The day round `round_` begins for a participant whose last question
    went out on `last_quiz_day`: n * interval working days after it (the
    forward reading of `round_deadlines`, for the organisers' calendar). Pure."""
    skips = parse_skip_dates(campaign.skip_dates or ())
    return repeat_round_start(last_quiz_day, round_, campaign.repeat_interval_days, skips)


def plan_repeats(session: Session, ctx: PlanContext) -> int:
    """Enqueue today's repeat question for every participant who is due one
    (see the module docstring): of the questions due in the rounds reached,
    the lowest round and position that is not in the outbox yet."""
    campaign = ctx.campaign
    if campaign.repeats == "none" or campaign.question_set_id is None:
        return 0
    deadlines = round_deadlines(campaign, ctx.today)
    rounds = union_all(
        *(
            select(literal(n, Integer()).label("round"), literal(moment, UTCDateTime()).label("deadline"))
            for n, moment in deadlines.items()
        )
    ).subquery("rounds")
    # When each participant's week ended: their last question that went out.
    last_at = (
        select(func.max(func.coalesce(Delivery.sent_at, Delivery.due_at)))
        .where(
            Delivery.participant_id == Participant.id,
            Delivery.kind == "question",
            Delivery.status.in_(SETTLED),
        )
        .scalar_subquery()
    )
    busy = aliased(Delivery)
    # Who may get a repeat today at all, found first and kept apart (on
    # PostgreSQL a MATERIALIZED CTE; SQLite's driver reports no row count for
    # an INSERT that starts with WITH, and SQLite serves small installations):
    # most planning rounds of a day find everyone either busy (today's quiz
    # email planned) or with nothing left, and this keeps those rounds from
    # joining every participant's questions and answers.
    eligible_select = select(Participant.id.label("participant_id"), last_at.label("last_at")).where(
        Participant.campaign_id == campaign.id,
        Participant.status == "completed",
        Participant.receives_mail,
        Participant.repeats_stopped_at.is_(None),
        ~exists().where(
            busy.participant_id == Participant.id,
            busy.kind.in_(QUIZ_EMAILS),
            or_(
                busy.status.in_(_UNSETTLED),
                and_(
                    busy.status.in_(SETTLED),
                    func.coalesce(busy.sent_at, busy.due_at) >= literal(ctx.midnight, UTCDateTime()),
                ),
            ),
        ),
    )
    if session.bind.dialect.name == "postgresql":
        eligible = eligible_select.cte("eligible").prefix_with("MATERIALIZED")
    else:
        eligible = eligible_select.subquery("eligible")
    got = aliased(Delivery)  # the question email of the week
    week = aliased(Answer)
    week_option = aliased(Option)
    planned = aliased(Delivery)
    key = ROUND_STEP * rounds.c.round + Question.position
    pid = eligible.c.participant_id
    mastered = (
        select(RepeatAnswer.id)
        .join(Option, Option.id == RepeatAnswer.option_id)
        .where(
            RepeatAnswer.participant_id == pid,
            RepeatAnswer.question_id == Question.id,
            RepeatAnswer.round < rounds.c.round,
            Option.is_correct.is_(True),
        )
        .exists()
    )
    conditions = [
        ~mastered,
        ~exists().where(planned.participant_id == pid, planned.kind == "repeat", planned.day == key),
    ]
    if campaign.repeats == "wrong":
        conditions.append(or_(week.id.is_(None), week_option.is_correct.is_(False)))
    due = (
        select(pid.label("participant_id"), func.min(key).label("day"))
        .select_from(eligible)
        .join(rounds, eligible.c.last_at < rounds.c.deadline)
        .join(got, and_(got.participant_id == pid, got.kind == "question", got.status == "sent"))
        .join(
            Question,
            and_(Question.id == got.question_id, Question.question_set_id == campaign.question_set_id),
        )
        .outerjoin(week, and_(week.participant_id == pid, week.question_id == Question.id))
        .outerjoin(week_option, week_option.id == week.option_id)
        .where(*conditions)
        .group_by(pid)
        .subquery("due")
    )
    rows = (
        select(
            due.c.participant_id,
            literal("repeat", String()),
            due.c.day,
            Question.id,
            literal(ctx.slot, UTCDateTime()),
            literal("pending", String()),
            literal(0, Integer()),
            literal(ctx.now, UTCDateTime()),
        )
        .select_from(due)
        .join(
            Question,
            and_(
                Question.question_set_id == campaign.question_set_id,
                Question.position == due.c.day % ROUND_STEP,
            ),
        )
    )
    stmt = (
        _insert(session)
        .from_select(_COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["participant_id", "kind", "day"])
        .execution_options(preserve_rowcount=True)
    )
    return session.execute(stmt).rowcount


# Registered with the planner by create_app, after the question rule of the
# same round (which is what makes "no repeat on a question's day" hold).
RULES = {"repeat": plan_repeats}
