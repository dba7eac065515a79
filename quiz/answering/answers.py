"""Answering a question: the answer window, reading an answer link,
recording the answer, link hits.

The rules:
- Answers are accepted until the end of the participant's last quiz day (the
  campaign's `ends_on` when set, else the day of the last question) plus
  ANSWER_GRACE; after that the link is expired (`answers_close_at`, the one
  place this rule is written). "Mijn quiz" stays reachable for MANAGE_GRACE
  longer, so the score can be looked up afterwards.
- The first confirmed answer counts. The unique key (participant, question)
  decides, not a check before the insert: two simultaneous confirmations
  both try to insert and exactly one wins.
- A GET on an answer link is a LinkHit, never an answer. Hits on every option
  of one question within SWEEP_WINDOW are a mail scanner sweeping the email
  and are flagged, so statistics can leave them out.
The link tokens themselves (what they hold, how they are signed) are
quiz.links's.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import String, bindparam, cast, exists, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from quiz.delivery.workdays import nth_working_day, parse_skip_dates
from quiz.links import TokenExpired, TokenInvalid, read_answer, read_manage
from quiz.models import Answer, Campaign, Delivery, LinkHit, Participant
from quiz.questionsets.view import QuestionView, question_view

ANSWER_GRACE = timedelta(days=7)
MANAGE_GRACE = timedelta(days=60)
SWEEP_WINDOW = timedelta(seconds=5)
# Participants whose links no longer lead anywhere (not yet confirmed, or
# erased). Not quiz.models.GONE, which is about who still gets mail: an
# unsubscribed participant may still answer and read her feedback.
LINKS_CLOSED_STATUSES = ("pending", "erased")


# --- the answer window ---------------------------------------------------------


def last_quiz_day(
    campaign: Campaign | CampaignFacts, participant: Participant | ParticipantFacts, total: int
) -> date | None:
    """The last day answers count: the campaign's `ends_on`, else the day the
    participant gets the last of `total` questions. None before a start day."""
    if campaign.ends_on is not None:
        return campaign.ends_on
    if participant.first_quiz_day is None or total < 1:
        return None
    return _nth_working_day(participant.first_quiz_day, total, tuple(campaign.skip_dates or ()))


@lru_cache(maxsize=1024)
def _nth_working_day(first: date, n: int, skip_dates: tuple[str, ...]) -> date:
    # Every answer link asks this; a campaign has a handful of start days.
    return nth_working_day(first, n, parse_skip_dates(skip_dates))


def answers_close_at(
    campaign: Campaign | CampaignFacts, participant: Participant | ParticipantFacts, total: int
) -> datetime | None:
    """The moment answer links expire: local midnight after the last quiz day,
    plus ANSWER_GRACE (the last question is sent in the morning of the last
    day; a week's grace lets people catch up after the weekend)."""
    last = last_quiz_day(campaign, participant, total)
    if last is None:
        return None
    midnight = datetime.combine(last + timedelta(days=1), time(0), tzinfo=ZoneInfo(campaign.timezone))
    return midnight + ANSWER_GRACE  # aware arithmetic on one zone: local midnight again, also across DST


@dataclass(frozen=True)
class CampaignFacts:
    """What the answer pages need of a campaign (read with the participant)."""

    id: int
    question_set_id: int | None
    timezone: str
    ends_on: date | None
    skip_dates: list[str]


@dataclass(frozen=True)
class ParticipantFacts:
    """What the answer pages need of a participant: plain values, no ORM object."""

    id: int
    status: str
    first_quiz_day: date | None
    campaign: CampaignFacts

    @property
    def campaign_id(self) -> int:
        return self.campaign.id


@dataclass(frozen=True)
class RecordedAnswer:
    """The answer that counts, as the feedback page shows it."""

    option_id: int
    answered_at: datetime
    discussed_at: datetime | None = None


@dataclass
class AnswerLink:
    participant: ParticipantFacts
    question: QuestionView
    option_id: int | None  # the option the link chose, if any
    closes_at: datetime
    answer: RecordedAnswer | None  # already answered: the answer that counts
    # Earlier questions this participant got by email and has not answered, by quiz day.
    open_question_ids: tuple[int, ...]
    # The form being submitted came from a GET that turned out to be a scanner sweep.
    served_to_scanner: bool


_PARTICIPANT = (
    select(Participant).options(joinedload(Participant.campaign)).where(Participant.id == bindparam("pid"))
)

# Everything an answer page needs about the person behind a link, in one
# query: the participant and campaign, their answer to this question if
# any, the questions they got and left open (as "12,14", in any order), and
# whether the GET that served the submitted form was flagged as a scanner
# sweep.
_OPEN_QUESTIONS = (
    select(func.aggregate_strings(cast(Delivery.question_id, String), ","))
    .where(
        Delivery.participant_id == Participant.id,
        Delivery.kind == "question",
        Delivery.status == "sent",
        Delivery.question_id.is_not(None),
        Delivery.question_id != bindparam("qid"),
        ~exists().where(
            Answer.participant_id == Delivery.participant_id, Answer.question_id == Delivery.question_id
        ),
    )
    .scalar_subquery()
)
_HIT_IS_SWEEP = (
    select(LinkHit.is_sweep)
    .where(
        LinkHit.id == bindparam("hit"),
        LinkHit.participant_id == Participant.id,
        LinkHit.question_id == bindparam("qid"),
    )
    .scalar_subquery()
)
_LINK_FACTS = (
    select(
        Participant.status,
        Participant.first_quiz_day,
        Campaign.id,
        Campaign.question_set_id,
        Campaign.timezone,
        Campaign.ends_on,
        Campaign.skip_dates,
        Answer.option_id,
        Answer.answered_at,
        Answer.discussed_at,
        _OPEN_QUESTIONS.label("open_questions"),
        _HIT_IS_SWEEP.label("served_to_scanner"),
    )
    .join(Campaign, Campaign.id == Participant.campaign_id)
    .outerjoin(Answer, (Answer.participant_id == Participant.id) & (Answer.question_id == bindparam("qid")))
    .where(Participant.id == bindparam("pid"))
)


def load_participant(session: Session, participant_id: int) -> Participant | None:
    return session.scalar(_PARTICIPANT, {"pid": participant_id})


def read_answer_link(session: Session, token: str, now: datetime, hit_id: int | None = None) -> AnswerLink:
    """The participant, question and chosen option behind an answer token,
    with what the answer pages need about them (one query).

    TokenInvalid for a tampered, malformed or foreign token (including one
    whose option does not belong to its question, or whose question is not in
    the participant's campaign); TokenExpired once the answer window has
    closed or the participant is gone. `hit_id` is the LinkHit the submitted
    form names (see AnswerLink.served_to_scanner).
    """
    participant_id, question_id, option_id = read_answer(token, now)
    row = session.execute(_LINK_FACTS, {"pid": participant_id, "qid": question_id, "hit": hit_id}).first()
    if row is None or row.status in LINKS_CLOSED_STATUSES:
        raise TokenExpired
    status, first_day, campaign_id, set_id, tz, ends_on, skips, answered, at, discussed, open_ids, sweep = row
    campaign = CampaignFacts(campaign_id, set_id, tz, ends_on, skips or [])
    participant = ParticipantFacts(participant_id, status, first_day, campaign)
    view = question_view(session, question_id)
    if view is None or view.question_set_id != set_id:
        raise TokenInvalid
    if option_id is not None and view.option(option_id) is None:
        raise TokenInvalid
    closes_at = answers_close_at(campaign, participant, view.total)
    if closes_at is None or now >= closes_at:
        raise TokenExpired
    return AnswerLink(
        participant,
        view,
        option_id,
        closes_at,
        answer=None if answered is None else RecordedAnswer(answered, at, discussed),
        open_question_ids=tuple(int(q) for q in open_ids.split(",")) if open_ids else (),
        served_to_scanner=bool(sweep),
    )


class ParticipantErased(TokenExpired):
    """A genuine link whose participant erased their data: it stopped working
    because of that (the erase page says so after a second press)."""


def read_manage_link(session: Session, token: str, now: datetime) -> Participant:
    """The participant behind a "Mijn quiz" token; TokenInvalid / TokenExpired
    (ParticipantErased when that is why)."""
    participant_id = read_manage(token, now)
    participant = load_participant(session, participant_id)
    if participant is not None and participant.status == "erased":
        raise ParticipantErased
    if participant is None or participant.status in LINKS_CLOSED_STATUSES:
        raise TokenExpired
    campaign = participant.campaign
    total = len(campaign.question_set.questions) if campaign.question_set else 0
    closes_at = answers_close_at(campaign, participant, total)
    if closes_at is not None and now >= closes_at + MANAGE_GRACE:
        raise TokenExpired
    return participant


# --- answers -----------------------------------------------------------------


def recorded_answer(session: Session, participant_id: int, question_id: int) -> Answer | None:
    return session.scalar(
        select(Answer).where(Answer.participant_id == participant_id, Answer.question_id == question_id)
    )


def record_answer(
    session: Session, participant_id: int, question_id: int, option_id: int, now: datetime
) -> tuple[RecordedAnswer, bool]:
    """Store a confirmed answer; returns (the answer that counts, created?).

    The INSERT relies on the unique key (participant, question): when another
    request got there first, the database refuses ours and we return theirs.
    Commits.
    """
    answered_at = now.astimezone(UTC)
    if session.get_bind().dialect.name == "postgresql":
        # Commit without waiting for the WAL flush of this one small row: a
        # database crash could lose the last fraction of a second of answers
        # (the person then sees the question open and answers again), while
        # waiting for the disk per answer would bound a morning's burst of
        # confirmations by the disk's flush rate (3 ms a commit on a small
        # VM). SET LOCAL ends with the transaction, so it never reaches the
        # pooled connection's next user, nor another client behind PgBouncer.
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    try:
        session.execute(
            insert(Answer).values(
                participant_id=participant_id,
                question_id=question_id,
                option_id=option_id,
                answered_at=answered_at,
                source="confirmed",
            )
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.execute(
            select(Answer.option_id, Answer.answered_at, Answer.discussed_at).where(
                Answer.participant_id == participant_id, Answer.question_id == question_id
            )
        ).first()
        if existing is None:  # the conflict was something else (e.g. a foreign key)
            raise
        return RecordedAnswer(*existing), False
    return RecordedAnswer(option_id, answered_at), True


# --- link hits ---------------------------------------------------------------


def client_hash(secret: str, address: str | None) -> str | None:
    """HMAC-SHA256 of the client address with the app's secret: hits from one
    address can be grouped, but the address cannot be read back or guessed
    from a table of all IPv4 addresses without the key."""
    if not address:
        return None
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def log_link_hit(
    session: Session,
    *,
    participant_id: int,
    question: QuestionView,
    option_id: int | None,
    method: str,
    now: datetime,
    client: str | None,
    user_agent: str | None,
    kind: str = "answer",
) -> LinkHit:
    """Record a GET on an answer link and flag a scanner sweep. Commits.

    `kind` keeps the hits of other links to the same question apart (the
    repeat questions' links are 'repeat': their sweeps are their own)."""
    hit = LinkHit(
        participant_id=participant_id,
        question_id=question.id,
        option_id=option_id,
        kind=kind,
        method=method,
        hit_at=now,
        client_hash=client,
        user_agent=(user_agent or "")[:400] or None,
        is_sweep=False,
    )
    session.add(hit)
    # Commit before looking for a sweep: of several simultaneous hits, the one
    # that commits last is then sure to see all the others.
    session.commit()
    flag_sweep(session, participant_id, question, now, kind)
    return hit


def flag_sweep(
    session: Session, participant_id: int, question: QuestionView, now: datetime, kind: str = "answer"
) -> bool:
    """Flag the hits of the last SWEEP_WINDOW on this question as a sweep when
    together they cover every option: a person taps one answer, a scanner
    fetches all links of the email within a second. Commits; True if flagged."""
    since = now - SWEEP_WINDOW
    recent = (
        LinkHit.participant_id == participant_id,
        LinkHit.question_id == question.id,
        LinkHit.kind == kind,
        LinkHit.hit_at >= since,
        LinkHit.hit_at <= now,
    )
    hit_options = set(session.scalars(select(LinkHit.option_id).where(*recent).distinct()))
    if not question.options or not {o.id for o in question.options} <= hit_options:
        return False
    session.execute(
        update(LinkHit).where(*recent).values(is_sweep=True).execution_options(synchronize_session=False)
    )
    session.commit()
    return True
