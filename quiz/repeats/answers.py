"""Answering a repeat question: reading its link, the answer window, the
earlier choice, recording the answer, and stopping the repeats.

The same rules as the week's answers (quiz.answering.answers), with a round:
- A repeat can be answered until local midnight after the day it went out,
  plus REPEAT_ANSWER_GRACE.
- The first confirmed answer of a round counts: the unique key
  (participant, question, round) decides.
- GET never records an answer; hits are LinkHits of kind 'repeat', so a
  scanner sweeping the repeat email is flagged like one sweeping a question
  email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quiz.answering.answers import LINKS_CLOSED_STATUSES
from quiz.links import TokenExpired, TokenInvalid, read_repeat
from quiz.models import Answer, Campaign, Delivery, LinkHit, Participant, RepeatAnswer
from quiz.questionsets.view import OptionView, QuestionView, question_view
from quiz.repeats.rules import repeat_day

REPEAT_ANSWER_GRACE = timedelta(days=7)


def repeat_closes_at(sent_on: date, tz: str) -> datetime:
    """The moment a repeat's links stop taking answers: local midnight after
    the day it went out, plus REPEAT_ANSWER_GRACE. Pure."""
    midnight = datetime.combine(sent_on + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))
    return midnight + REPEAT_ANSWER_GRACE


@dataclass(frozen=True)
class EarlierChoice:
    """What the participant chose before this round: in the week (round 0)
    or on an earlier repeat; option None when they did not answer."""

    round: int
    option: OptionView | None


@dataclass
class RepeatLink:
    participant_id: int
    campaign: Campaign
    question: QuestionView
    round: int
    option_id: int | None  # the option the link chose, if any
    closes_at: datetime
    answer: RepeatAnswer | None  # this round's answer that counts, if any
    earlier: EarlierChoice
    served_to_scanner: bool


def _earlier_choice(session: Session, participant_id: int, view: QuestionView, round_: int) -> EarlierChoice:
    """The latest answer before round `round_`: an earlier repeat's, else the week's."""
    row = session.execute(
        select(RepeatAnswer.round, RepeatAnswer.option_id)
        .where(
            RepeatAnswer.participant_id == participant_id,
            RepeatAnswer.question_id == view.id,
            RepeatAnswer.round < round_,
        )
        .order_by(RepeatAnswer.round.desc())
        .limit(1)
    ).first()
    if row is not None:
        return EarlierChoice(row.round, view.option(row.option_id))
    week = session.scalar(
        select(Answer.option_id).where(Answer.participant_id == participant_id, Answer.question_id == view.id)
    )
    return EarlierChoice(0, view.option(week) if week is not None else None)


def read_repeat_link(session: Session, token: str, now: datetime, hit_id: int | None = None) -> RepeatLink:
    """The participant, question, round and chosen option behind a repeat
    link, with what its pages need.

    TokenInvalid for a tampered, malformed or foreign token (an option of
    another question, a question of another campaign); TokenExpired when the
    participant is gone, the repeat never went out, or its window closed.
    """
    participant_id, question_id, round_, option_id = read_repeat(token, now)
    participant = session.get(Participant, participant_id)
    if participant is None or participant.status in LINKS_CLOSED_STATUSES:
        raise TokenExpired
    campaign = participant.campaign
    view = question_view(session, question_id)
    if view is None or view.question_set_id != campaign.question_set_id:
        raise TokenInvalid
    if option_id is not None and view.option(option_id) is None:
        raise TokenInvalid
    went_out = session.scalar(
        select(func.coalesce(Delivery.sent_at, Delivery.due_at)).where(
            Delivery.participant_id == participant_id,
            Delivery.kind == "repeat",
            Delivery.day == repeat_day(round_, view.position),
            Delivery.status == "sent",
        )
    )
    if went_out is None:
        raise TokenExpired
    closes_at = repeat_closes_at(went_out.astimezone(ZoneInfo(campaign.timezone)).date(), campaign.timezone)
    if now >= closes_at:
        raise TokenExpired
    answer = session.scalar(
        select(RepeatAnswer).where(
            RepeatAnswer.participant_id == participant_id,
            RepeatAnswer.question_id == question_id,
            RepeatAnswer.round == round_,
        )
    )
    sweep = hit_id is not None and bool(
        session.scalar(
            select(LinkHit.is_sweep).where(
                LinkHit.id == hit_id,
                LinkHit.participant_id == participant_id,
                LinkHit.question_id == question_id,
                LinkHit.kind == "repeat",
            )
        )
    )
    return RepeatLink(
        participant_id=participant_id,
        campaign=campaign,
        question=view,
        round=round_,
        option_id=option_id,
        closes_at=closes_at,
        answer=answer,
        earlier=_earlier_choice(session, participant_id, view, round_),
        served_to_scanner=sweep,
    )


def record_repeat_answer(
    session: Session, participant_id: int, question_id: int, round_: int, option_id: int, now: datetime
) -> tuple[RepeatAnswer, bool]:
    """Store a confirmed answer to a repeat; returns (the answer that counts,
    created?). The unique key (participant, question, round) decides between
    two simultaneous confirmations. Commits."""
    answer = RepeatAnswer(
        participant_id=participant_id,
        question_id=question_id,
        round=round_,
        option_id=option_id,
        answered_at=now.astimezone(UTC),
        source="confirmed",
    )
    session.add(answer)
    try:
        session.commit()  # the session keeps its values after commit: no read back
        return answer, True
    except IntegrityError:
        session.rollback()
    existing = session.scalar(
        select(RepeatAnswer).where(
            RepeatAnswer.participant_id == participant_id,
            RepeatAnswer.question_id == question_id,
            RepeatAnswer.round == round_,
        )
    )
    if existing is None:  # the conflict was something else (e.g. a foreign key)
        raise LookupError("the repeat answer was not stored")
    return existing, False


def stop_repeats(session: Session, participant: Participant, now: datetime) -> bool:
    """Stop the repeat questions of `participant`, and nothing else: their
    other emails (follow-ups, the summary) still come. Cancels the repeats
    not yet claimed by a sender, in the same transaction; one a sender holds
    at that moment still goes out (the sender's last check is whether the
    participant receives mail at all, quiz.delivery.sender), as with
    unsubscribing. Idempotent; True if this call changed anything. Commits."""
    changed = participant.repeats_stopped_at is None
    if changed:
        participant.repeats_stopped_at = now
    cancelled = session.execute(
        update(Delivery)
        .where(
            Delivery.participant_id == participant.id,
            Delivery.kind == "repeat",
            Delivery.status.in_(("pending", "deferred")),
        )
        .values(status="cancelled", last_error="participant stopped the repeat questions")
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return changed or bool(cancelled)
