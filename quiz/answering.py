"""Answering a question: answer links, the answer window, recording, link hits.

The rules:
- An answer link carries ids only: [participant, question, option] (or
  [participant, question] for "answer this question" links on our own pages).
- Answers are accepted until the end of the participant's last quiz day (the
  campaign's `ends_on` when set, else the day of the last question) plus
  ANSWER_GRACE; after that the link is expired. "Mijn quiz" stays reachable
  for MANAGE_GRACE longer, so the score can be looked up afterwards.
- The first confirmed answer counts. The unique key (participant, question)
  decides, not a check before the insert: two simultaneous confirmations
  both try to insert and exactly one wins.
- A GET on an answer link is a LinkHit, never an answer. Hits on every option
  of one question within SWEEP_WINDOW are a mail scanner sweeping the email
  and are flagged, so statistics can leave them out.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from quiz.db import UTCDateTime
from quiz.models import Answer, Campaign, LinkHit, Participant
from quiz.question_view import QuestionView, question_view
from quiz.tokens import TokenExpired, TokenInvalid, make_token, read_token
from quiz.workdays import nth_working_day, parse_skip_dates

ANSWER_GRACE = timedelta(days=7)
MANAGE_GRACE = timedelta(days=60)
SWEEP_WINDOW = timedelta(seconds=5)
# The signature's own age limit is only a backstop; the answer window decides.
TOKEN_BACKSTOP_SECONDS = 400 * 86400
# Participants whose links no longer lead anywhere.
GONE_STATUSES = ("pending", "erased")
MAX_ID = 2**31 - 1  # the database's integer range; a larger id is a forged token


def _is_id(value: object) -> bool:
    # bool is an int subclass; a tampered payload must not sneak True in as 1.
    return type(value) is int and 0 < value <= MAX_ID


# --- links -------------------------------------------------------------------


def answer_token(participant_id: int, question_id: int, option_id: int | None = None) -> str:
    """A signed answer link token; without an option it opens the question unchosen."""
    payload = [participant_id, question_id] if option_id is None else [participant_id, question_id, option_id]
    return make_token("answer", payload)


def manage_token(participant_id: int) -> str:
    return make_token("manage", participant_id)


def last_quiz_day(campaign: Campaign, participant: Participant, total: int) -> date | None:
    """The last day answers count: the campaign's `ends_on`, else the day the
    participant gets the last of `total` questions. None before a start day."""
    if campaign.ends_on is not None:
        return campaign.ends_on
    if participant.first_quiz_day is None or total < 1:
        return None
    skips = parse_skip_dates(campaign.skip_dates or ())
    return nth_working_day(participant.first_quiz_day, total, skips)


def answers_close_at(campaign: Campaign, participant: Participant, total: int) -> datetime | None:
    """The moment answer links expire: local midnight after the last quiz day,
    plus ANSWER_GRACE (the last question is sent in the morning of the last
    day; a week's grace lets people catch up after the weekend)."""
    last = last_quiz_day(campaign, participant, total)
    if last is None:
        return None
    midnight = datetime.combine(last + timedelta(days=1), time(0), tzinfo=ZoneInfo(campaign.timezone))
    return midnight + ANSWER_GRACE


@dataclass
class AnswerLink:
    participant: Participant
    question: QuestionView
    option_id: int | None  # the option the link chose, if any
    closes_at: datetime


def _ids(payload: object, lengths: tuple[int, ...]) -> list[int]:
    if not isinstance(payload, list) or len(payload) not in lengths:
        raise TokenInvalid
    if not all(_is_id(v) for v in payload):
        raise TokenInvalid
    return payload


# Built once: constructing an ORM statement and its cache key costs more CPU
# than the query itself on the answer path.
_PARTICIPANT = (
    select(Participant).options(joinedload(Participant.campaign)).where(Participant.id == bindparam("pid"))
)
_INSERT_ANSWER = insert(Answer)
# The same INSERT on PostgreSQL, without waiting for the WAL flush of this one
# small row: a database crash could lose the last fraction of a second of
# answers (the person then sees the question as open and answers again),
# while waiting for the disk per answer would cap a morning's burst of
# confirmations at the disk's flush rate. set_config(…, true) is SET LOCAL
# as an expression, so it rides along in the INSERT's own round trip.
_INSERT_ANSWER_NO_FLUSH_WAIT = text(
    "WITH no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true)) "
    "INSERT INTO answer (participant_id, question_id, option_id, answered_at, source) "
    "SELECT :participant_id, :question_id, :option_id, :answered_at, :source FROM no_flush_wait"
).bindparams(bindparam("answered_at", type_=UTCDateTime()))


def load_participant(session: Session, participant_id: int) -> Participant | None:
    return session.scalar(_PARTICIPANT, {"pid": participant_id})


def read_answer_link(session: Session, token: str, now: datetime) -> AnswerLink:
    """The participant, question and chosen option behind an answer token.

    TokenInvalid for a tampered, malformed or foreign token (including one
    whose option does not belong to its question, or whose question is not in
    the participant's campaign); TokenExpired once the answer window has
    closed or the participant is gone.
    """
    ids = _ids(read_token("answer", token, TOKEN_BACKSTOP_SECONDS, now), (2, 3))
    participant = load_participant(session, ids[0])
    if participant is None or participant.status in GONE_STATUSES:
        raise TokenExpired
    view = question_view(session, ids[1])
    if view is None or view.question_set_id != participant.campaign.question_set_id:
        raise TokenInvalid
    option_id = ids[2] if len(ids) == 3 else None
    if option_id is not None and view.option(option_id) is None:
        raise TokenInvalid
    closes_at = answers_close_at(participant.campaign, participant, view.total)
    if closes_at is None or now >= closes_at:
        raise TokenExpired
    return AnswerLink(participant, view, option_id, closes_at)


def read_manage_link(session: Session, token: str, now: datetime) -> Participant:
    """The participant behind a "Mijn quiz" token; TokenInvalid / TokenExpired."""
    participant_id = read_token("manage", token, TOKEN_BACKSTOP_SECONDS, now)
    if not _is_id(participant_id):
        raise TokenInvalid
    participant = load_participant(session, participant_id)
    if participant is None or participant.status in GONE_STATUSES:
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
) -> tuple[Answer, bool]:
    """Store a confirmed answer; returns (the answer that counts, created?).

    The INSERT relies on the unique key (participant, question): when another
    request got there first, the database refuses ours and we return theirs.
    Commits.
    """
    values = {
        "participant_id": participant_id,
        "question_id": question_id,
        "option_id": option_id,
        "answered_at": now,
        "source": "confirmed",
    }
    postgresql = session.get_bind().dialect.name == "postgresql"
    try:
        # A plain INSERT (no ORM unit of work): this is the hot path of a
        # morning's burst of confirmations.
        session.execute(_INSERT_ANSWER_NO_FLUSH_WAIT if postgresql else _INSERT_ANSWER, values)
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = recorded_answer(session, participant_id, question_id)
        if existing is None:  # the conflict was something else (e.g. a foreign key)
            raise
        return existing, False
    return Answer(**values), True


def single_statement_transactions(session: Session) -> None:
    """Let each statement of this session commit on its own (autocommit).

    For the confirm request: its reads need no common snapshot and its one
    write is a single INSERT, so BEGIN and COMMIT would only add two round
    trips to the database. Call before the session's first statement.
    """
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


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
) -> LinkHit:
    """Record a GET on an answer link and flag a scanner sweep. Commits."""
    hit = LinkHit(
        participant_id=participant_id,
        question_id=question.id,
        option_id=option_id,
        kind="answer",
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
    flag_sweep(session, participant_id, question, now)
    return hit


def flag_sweep(session: Session, participant_id: int, question: QuestionView, now: datetime) -> bool:
    """Flag the hits of the last SWEEP_WINDOW on this question as a sweep when
    together they cover every option: a person taps one answer, a scanner
    fetches all links of the email within a second. Commits; True if flagged."""
    since = now - SWEEP_WINDOW
    recent = (
        LinkHit.participant_id == participant_id,
        LinkHit.question_id == question.id,
        LinkHit.kind == "answer",
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
