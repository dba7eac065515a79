"""The certificate of participation (deelnamebewijs): when a participant can
download it. Its code is quiz.followups.certificate_code's, what it says
quiz.followups.certificate_content's, the pages quiz.followups.certificate_views's.

The rule (`availability`, pure, takes `now`): the campaign has
certificates on, and the participant's quiz is over as far as mail goes:
- the last question went out (sent, or failed for good: SETTLED, as for the
  summary), and no question or repeat email of theirs is still pending,
  deferred or being sent;
- and no repeat can come any more: the campaign repeats nothing, the
  participant stopped the repeats (or unsubscribed, was erased, bounced),
  every question is mastered already, or the last day a repeat could go out
  has passed. Round n of the repeats starts n * interval working days after
  the last quiz day and sends one question per working day, so the last
  possible repeat goes out (repeat_max * interval + questions - 1) working
  days after the last quiz day (`last_repeat_day`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz.delivery.planner import SETTLED
from quiz.delivery.workdays import nth_working_day, parse_skip_dates, repeat_round_start
from quiz.models import GONE, Answer, Campaign, Delivery, Option, Participant, RepeatAnswer

OPEN_STATUSES = ("pending", "deferred", "sending")


@dataclass(frozen=True)
class CertificateFacts:
    """What the rule needs, read from the database by `certificate_facts`."""

    enabled: bool  # the campaign's certificates_enabled
    status: str  # the participant's
    timezone: str
    skip_dates: frozenset[date]
    questions: int
    last_quiz_day: date | None  # the day the participant's last question goes out
    last_question_out: bool  # its delivery is sent or failed for good
    open_deliveries: int  # question and repeat emails pending, deferred or sending
    repeats: str  # 'none', 'wrong' or 'all'
    repeat_interval_days: int
    repeat_max: int
    repeats_stopped: bool
    repeats_left: bool  # a question is not mastered yet, so a repeat may still come


@dataclass(frozen=True)
class Availability:
    """'off' (no certificate for this participant), 'later' or 'available';
    `from_day`: for 'later', the local day it is expected (None: as soon as
    the last email has gone out)."""

    state: str
    from_day: date | None = None

    @property
    def available(self) -> bool:
        return self.state == "available"


def last_repeat_day(facts: CertificateFacts) -> date | None:
    """The last day a repeat can go out: the last round starts on the repeat
    schedule's day (quiz.delivery.workdays.repeat_round_start) and sends one
    question a working day."""
    if facts.last_quiz_day is None:
        return None
    last_round = repeat_round_start(
        facts.last_quiz_day, facts.repeat_max, facts.repeat_interval_days, facts.skip_dates
    )
    return nth_working_day(last_round, max(facts.questions, 1), facts.skip_dates)


def repeats_may_come(facts: CertificateFacts) -> bool:
    """Whether a repeat question can still be on its way to this participant."""
    return (
        facts.repeats != "none"
        and not facts.repeats_stopped
        and facts.status not in GONE
        and facts.repeats_left
    )


def availability(facts: CertificateFacts, now: datetime) -> Availability:
    """Whether the participant can download their certificate at `now`
    (the rule in the module docstring)."""
    if not facts.enabled or facts.status in ("pending", "erased") or facts.last_quiz_day is None:
        return Availability("off")
    if not facts.last_question_out and facts.status in GONE:
        return Availability("off")  # stopped before the end: the last question never goes out
    today = now.astimezone(ZoneInfo(facts.timezone)).date()
    expected = facts.last_quiz_day
    waiting = not facts.last_question_out or facts.open_deliveries > 0
    if repeats_may_come(facts):
        last_repeat = last_repeat_day(facts)
        assert last_repeat is not None
        expected = last_repeat + timedelta(days=1)
        waiting = waiting or today <= last_repeat
    if not waiting:
        return Availability("available")
    return Availability("later", expected if expected > today else None)


def certificate_facts(session: Session, participant: Participant) -> CertificateFacts:
    """The facts `availability` needs about `participant` (three small queries)."""
    campaign: Campaign = participant.campaign
    questions = campaign.question_set.questions if campaign.question_set is not None else []
    last_position = max((q.position for q in questions), default=0)
    deliveries = session.execute(
        select(Delivery.kind, Delivery.day, Delivery.status).where(
            Delivery.participant_id == participant.id, Delivery.kind.in_(("question", "repeat"))
        )
    ).all()
    last_out = any(k == "question" and d == last_position and s in SETTLED for k, d, s in deliveries)
    return CertificateFacts(
        enabled=campaign.certificates_enabled,
        status=participant.status,
        timezone=campaign.timezone,
        skip_dates=parse_skip_dates(campaign.skip_dates or ()),
        questions=len(questions),
        last_quiz_day=_own_last_quiz_day(participant, len(questions)),
        last_question_out=last_out,
        open_deliveries=sum(1 for _, _, s in deliveries if s in OPEN_STATUSES),
        repeats=campaign.repeats,
        repeat_interval_days=campaign.repeat_interval_days,
        repeat_max=campaign.repeat_max,
        repeats_stopped=participant.repeats_stopped_at is not None,
        repeats_left=bool(_not_mastered(session, participant, [q.id for q in questions])),
    )


def _own_last_quiz_day(participant: Participant, total: int) -> date | None:
    # The participant's own last question day, not the campaign's ends_on:
    # repeats count from the day the last question went out.
    if participant.first_quiz_day is None or total < 1:
        return None
    skips = parse_skip_dates(participant.campaign.skip_dates or ())
    return nth_working_day(participant.first_quiz_day, total, skips)


def _not_mastered(session: Session, participant: Participant, question_ids: list[int]) -> set[int]:
    """Questions that may still come back: not answered correctly on a repeat
    and, when only wrong answers come back, not answered correctly at first."""
    mastered = set(
        session.scalars(
            select(RepeatAnswer.question_id)
            .join(Option, Option.id == RepeatAnswer.option_id)
            .where(RepeatAnswer.participant_id == participant.id, Option.is_correct)
        )
    )
    if participant.campaign.repeats == "wrong":
        mastered |= set(
            session.scalars(
                select(Answer.question_id)
                .join(Option, Option.id == Answer.option_id)
                .where(Answer.participant_id == participant.id, Option.is_correct)
            )
        )
    return set(question_ids) - mastered


def participant_availability(session: Session, participant: Participant, now: datetime) -> Availability:
    return availability(certificate_facts(session, participant), now)
