"""Planning rules for the follow-up email (per answered question) and the final summary.

Registered with the planner by create_app (RULES), so `quiz.delivery.planner.plan` runs them in
the same round and through the same outbox unique key (participant, kind,
day) as the questions: ON CONFLICT DO NOTHING makes planning twice, or in two
scheduler processes, add nothing the second time.

The rules, in the campaign's local time:
- follow-up for question k: at the campaign's follow-up time (default 15:00)
  on the day the participant answered k, when that is a working day and the
  answer came before that time; otherwise at the follow-up time of the next
  working day. One follow-up per question (day = k), and at most one
  follow-up per participant per day: when several are due, the lowest k goes
  first and the others follow on the next working days. With the morning's
  question that makes at most two quiz emails on a working day, and none on
  weekends, holidays or skip dates (the planner only runs rules on working
  days).
- summary: at the follow-up time of the first working day after the day the
  participant's last question went out (day = 0). A follow-up may go out the
  same day; a question never does (the last one went out before).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, literal, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import Integer, String

from quiz.db import UTCDateTime
from quiz.delivery.planner import SETTLED, PlanContext, _insert
from quiz.models import RECEIVING, Answer, Campaign, Delivery, Participant, Question

# Who gets follow-ups and the summary: those who receive mail
# (quiz.models.RECEIVING) and have confirmed. `completed` participants had
# their last question but may still answer, and the summary is for them.
RECIPIENTS = tuple(status for status in RECEIVING if status != "pending")
# An answer older than this gets no follow-up any more (a follow-up is about
# this week's conversation); it also bounds the rows each planning round reads.
FOLLOWUP_LOOKBACK = timedelta(days=14)
_COLUMNS = ["participant_id", "kind", "day", "question_id", "due_at", "status", "attempts", "created_at"]


def followup_slot(campaign: Campaign, ctx: PlanContext) -> datetime:
    """Today's follow-up moment (aware), local time."""
    return datetime.combine(ctx.today, campaign.followup_time, tzinfo=ctx.slot.tzinfo)


def _insert_from(session: Session, select_stmt) -> int:  # noqa: ANN001 - a Select
    stmt = (
        _insert(session)
        .from_select(_COLUMNS, select_stmt)
        .on_conflict_do_nothing(index_elements=["participant_id", "kind", "day"])
        .execution_options(preserve_rowcount=True)
    )
    return session.execute(stmt).rowcount


def plan_followups(session: Session, ctx: PlanContext) -> int:
    """Enqueue today's follow-up for every participant with an answer that has none yet.

    Due: answers given before today's follow-up moment (so an answer after
    15:00, or on a weekend, waits for the next working day's), no follow-up
    for that question yet, and no follow-up already planned today. Of several
    due, the lowest question goes first; it is the same for every planner
    process, so two planners racing pick the same row and the unique key
    keeps one.
    """
    campaign = ctx.campaign
    if not campaign.followups_enabled or campaign.question_set_id is None:
        return 0
    slot = followup_slot(campaign, ctx)
    if ctx.now < slot:
        return 0
    done = aliased(Delivery)
    waiting = (
        select(Answer.participant_id.label("participant_id"), func.min(Question.position).label("position"))
        .join(Question, Question.id == Answer.question_id)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(
            Participant.campaign_id == campaign.id,
            Participant.status.in_(RECIPIENTS),
            Question.question_set_id == campaign.question_set_id,
            Answer.answered_at < literal(slot, UTCDateTime()),
            Answer.answered_at >= literal(ctx.midnight - FOLLOWUP_LOOKBACK, UTCDateTime()),
            ~exists().where(
                done.participant_id == Answer.participant_id,
                done.kind == "followup",
                done.day == Question.position,
            ),
        )
        .group_by(Answer.participant_id)
        .subquery("waiting")
    )
    today_ = aliased(Delivery)
    due = (
        select(
            waiting.c.participant_id,
            literal("followup", String()),
            Question.position,
            Question.id,
            literal(slot, UTCDateTime()),
            literal("pending", String()),
            literal(0, Integer()),
            literal(ctx.now, UTCDateTime()),
        )
        .select_from(waiting)
        .join(
            Question,
            and_(
                Question.question_set_id == campaign.question_set_id, Question.position == waiting.c.position
            ),
        )
        .where(
            ~exists().where(
                today_.participant_id == waiting.c.participant_id,
                today_.kind == "followup",
                today_.due_at >= literal(ctx.midnight, UTCDateTime()),
            )
        )
    )
    return _insert_from(session, due)


def plan_summaries(session: Session, ctx: PlanContext) -> int:
    """Enqueue the summary for every participant whose last question went out
    (sent, or failed for good) before today, at today's follow-up moment."""
    campaign = ctx.campaign
    if not campaign.summary_enabled or campaign.question_set_id is None:
        return 0
    slot = followup_slot(campaign, ctx)
    if ctx.now < slot:
        return 0
    last_position = session.scalar(
        select(func.max(Question.position)).where(Question.question_set_id == campaign.question_set_id)
    )
    if not last_position:
        return 0
    last = aliased(Delivery)
    summary = aliased(Delivery)
    due = (
        select(
            Participant.id,
            literal("summary", String()),
            literal(0, Integer()),
            literal(None, Integer()),
            literal(slot, UTCDateTime()),
            literal("pending", String()),
            literal(0, Integer()),
            literal(ctx.now, UTCDateTime()),
        )
        .select_from(Participant)
        .join(
            last,
            and_(last.participant_id == Participant.id, last.kind == "question", last.day == last_position),
        )
        .where(
            Participant.campaign_id == campaign.id,
            Participant.status.in_(RECIPIENTS),
            last.status.in_(SETTLED),
            func.coalesce(last.sent_at, last.due_at) < literal(ctx.midnight, UTCDateTime()),
            ~exists().where(summary.participant_id == Participant.id, summary.kind == "summary"),
        )
    )
    return _insert_from(session, due)


# Registered with the planner by create_app, in this order: after the
# question rule of the same round.
RULES = {"followup": plan_followups, "summary": plan_summaries}
