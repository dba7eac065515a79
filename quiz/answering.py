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
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from quiz.db import SessionSource, UTCDateTime, session_of
from quiz.driver_sql import DriverStatement
from quiz.links import TokenExpired, TokenInvalid, read_answer, read_manage
from quiz.models import Answer, Campaign, Delivery, LinkHit, Participant
from quiz.question_view import QuestionView, question_view
from quiz.workdays import nth_working_day, parse_skip_dates

log = logging.getLogger(__name__)

ANSWER_GRACE = timedelta(days=7)
MANAGE_GRACE = timedelta(days=60)
SWEEP_WINDOW = timedelta(seconds=5)
# Participants whose links no longer lead anywhere.
GONE_STATUSES = ("pending", "erased")


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
    return _local_midnight(last + timedelta(days=1), campaign.timezone) + ANSWER_GRACE


@lru_cache(maxsize=1024)
def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


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


# Built once: constructing an ORM statement and its cache key costs more CPU
# than the query itself on the answer path.
_PARTICIPANT = (
    select(Participant).options(joinedload(Participant.campaign)).where(Participant.id == bindparam("pid"))
)

# Everything an answer page needs about the person behind a link, in one
# round trip (a confirmation is the hot path of a quiz morning): the
# participant and campaign, their answer to this question if any, the
# questions they got and left open (as "12,14", in any order), and whether
# the GET that served the submitted form was flagged as a scanner sweep.
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
        _OPEN_QUESTIONS,
        _HIT_IS_SWEEP,
    )
    .join(Campaign, Campaign.id == Participant.campaign_id)
    .outerjoin(Answer, (Answer.participant_id == Participant.id) & (Answer.question_id == bindparam("qid")))
    .where(Participant.id == bindparam("pid"))
)
_RECORDED = select(Answer.option_id, Answer.answered_at, Answer.discussed_at).where(
    Answer.participant_id == bindparam("pid"), Answer.question_id == bindparam("qid")
)
# On PostgreSQL, without waiting for the WAL flush of this one small row: a
# database crash could lose the last fraction of a second of answers (the
# person then sees the question as open and answers again), while waiting for
# the disk per answer would cap a morning's burst of confirmations at the
# disk's flush rate. set_config(…, true) is SET LOCAL as an expression, so it
# rides along in the INSERT's own round trip.
_INSERT_ANSWER_NO_FLUSH_WAIT = text(
    "WITH no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true)) "
    "INSERT INTO answer (participant_id, question_id, option_id, answered_at, source) "
    "SELECT :participant_id, :question_id, :option_id, :answered_at, :source FROM no_flush_wait"
).bindparams(bindparam("answered_at", type_=UTCDateTime()))


_INSERT_ANSWER = DriverStatement(_INSERT_ANSWER_NO_FLUSH_WAIT, elsewhere=insert(Answer))
# The statement of read_answer_link, run on the driver on PostgreSQL.
_LINK_FACTS_ON_DRIVER = DriverStatement(_LINK_FACTS)


def _link_facts_and_store() -> Select[Any]:
    """_LINK_FACTS and, in the same statement, the INSERT of a first
    confirmation (see read_link_and_store): PostgreSQL only."""
    facts = _LINK_FACTS.cte("facts")
    status, first_day, _campaign, set_id, tz, ends_on, _skips, answered, *_, sweep = facts.c
    local_today = cast(func.timezone(tz, bindparam("answered_at", type_=UTCDateTime())), Date)
    # Open until local midnight after the last quiz day plus the grace
    # (answers_close_at); the last day is at least first day + questions - 1.
    days = ANSWER_GRACE.days + 1
    surely_open = case(
        (ends_on.is_not(None), local_today < ends_on + days),
        else_=local_today < first_day + (bindparam("total", type_=Integer) + (days - 1)),
    )
    no_flush_wait = select(func.set_config("synchronous_commit", "off", True).label("off")).cte()
    values = select(
        bindparam("pid", type_=Integer),
        bindparam("qid", type_=Integer),
        bindparam("option", type_=Integer),
        bindparam("answered_at", type_=UTCDateTime()),
        literal("confirmed"),
    ).select_from(facts.join(no_flush_wait, true()))
    stored = (
        pg_insert(Answer)
        .from_select(
            ["participant_id", "question_id", "option_id", "answered_at", "source"],
            values.where(
                bindparam("option", type_=Integer).is_not(None),
                status.not_in(GONE_STATUSES),
                set_id == bindparam("set_id", type_=Integer),
                answered.is_(None),
                sweep.is_not(True),
                surely_open,
            ),
        )
        .on_conflict_do_nothing(index_elements=["participant_id", "question_id"])
        .returning(Answer.id)
        .cte("stored")
    )
    return select(*facts.c, exists(select(stored.c.id)))


_LINK_FACTS_AND_STORE = DriverStatement(_link_facts_and_store())


def load_participant(session: Session, participant_id: int) -> Participant | None:
    return session.scalar(_PARTICIPANT, {"pid": participant_id})


def _answer_ids(token: str, now: datetime) -> list[int]:
    participant_id, question_id, option_id = read_answer(token, now)
    return [participant_id, question_id] if option_id is None else [participant_id, question_id, option_id]


def read_answer_link(
    session: SessionSource,
    token: str,
    now: datetime,
    hit_id: int | None = None,
    conn: Connection | None = None,
) -> AnswerLink:
    """The participant, question and chosen option behind an answer token,
    with what the answer pages need about them (one query).

    TokenInvalid for a tampered, malformed or foreign token (including one
    whose option does not belong to its question, or whose question is not in
    the participant's campaign); TokenExpired once the answer window has
    closed or the participant is gone. `hit_id` is the LinkHit the submitted
    form names (see AnswerLink.served_to_scanner). The query runs on `conn`
    when given (the confirmation's autocommit connection), else on `session`.
    """
    ids = _answer_ids(token, now)
    params = {"pid": ids[0], "qid": ids[1], "hit": hit_id}
    row = _LINK_FACTS_ON_DRIVER.first(conn or session_of(session).connection(), params)
    return _link_from_row(session, ids, row, now)


def _link_from_row(
    session: SessionSource, ids: list[int], row: Sequence[Any] | None, now: datetime
) -> AnswerLink:
    """The AnswerLink of a token's ids and the row of _LINK_FACTS; TokenInvalid / TokenExpired."""
    if row is None or row[0] in GONE_STATUSES:
        raise TokenExpired
    status, first_day, campaign_id, set_id, tz, ends_on, skips, option, at, discussed, open_ids, sweep = row[
        :12
    ]
    campaign = CampaignFacts(campaign_id, set_id, tz, ends_on, skips or [])
    participant = ParticipantFacts(ids[0], status, first_day, campaign)
    view = question_view(session, ids[1])
    if view is None or view.question_set_id != set_id:
        raise TokenInvalid
    option_id = ids[2] if len(ids) == 3 else None
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
        answer=None if option is None else RecordedAnswer(option, at, discussed),
        open_question_ids=tuple(int(q) for q in open_ids.split(",")) if open_ids else (),
        served_to_scanner=bool(sweep),
    )


def read_link_and_store(
    conn: Connection,
    session: SessionSource,
    token: str,
    now: datetime,
    hit_id: int | None,
    choose: Callable[[QuestionView], int | None],
) -> tuple[AnswerLink, int | None, bool]:
    """`read_answer_link`, and in the same statement on PostgreSQL the answer
    stored when this is a first confirmation: (link, the chosen option,
    stored?). `choose` picks the option from the question (None: none chosen).

    One round trip instead of two: the INSERT runs only when the row it reads
    in the same statement says so (participant not gone, question in the
    campaign's set, not answered yet, form not served to a scanner) and the
    answer window is surely open. That last test is a bound SQL can make
    without the working-day calendar: the last quiz day is the campaign's
    `ends_on`, or at least the first quiz day plus one day per further
    question. Near the end of a quiz the bound may say no where
    `answers_close_at` says yes; then nothing is stored here and the caller
    stores the answer with `record_answer`. The rules above decide the same
    as read_answer_link's on the row read, so a stored answer always
    belongs to a first confirmation; should they ever disagree, the answer
    is taken out again and the disagreement logged.
    """
    ids = _answer_ids(token, now)
    view = question_view(session, ids[1])
    if view is None:
        raise TokenInvalid
    option_id = choose(view)
    params = {
        "pid": ids[0],
        "qid": ids[1],
        "hit": hit_id,
        "option": option_id,
        "answered_at": now.astimezone(UTC),
        "set_id": view.question_set_id,
        "total": view.total,
    }
    row = _LINK_FACTS_AND_STORE.first(conn, params)
    stored = bool(row and row[12])
    try:
        link = _link_from_row(session, ids, row, now)
        records = option_id is not None and link.answer is None and not link.served_to_scanner
    except (TokenInvalid, TokenExpired):
        if stored:
            _take_back(conn, ids[0], ids[1])
        raise
    if stored and not records:
        _take_back(conn, ids[0], ids[1])
        stored = False
    return link, option_id, stored


def _take_back(conn: Connection, participant_id: int, question_id: int) -> None:
    log.error("an answer stored with the link's facts did not pass the link's rules; taken back")
    mine = (Answer.participant_id == participant_id, Answer.question_id == question_id)
    conn.execute(delete(Answer).where(*mine))
    conn.commit()


def read_manage_link(session: Session, token: str, now: datetime) -> Participant:
    """The participant behind a "Mijn quiz" token; TokenInvalid / TokenExpired."""
    participant_id = read_manage(token, now)
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
    db: Session | Connection, participant_id: int, question_id: int, option_id: int, now: datetime
) -> tuple[RecordedAnswer, bool]:
    """Store a confirmed answer; returns (the answer that counts, created?).

    The INSERT relies on the unique key (participant, question): when another
    request got there first, the database refuses ours and we return theirs.
    Commits (`db` is a session, or a connection, e.g. an autocommit one).
    """
    conn = db if isinstance(db, Connection) else db.connection()
    values = {
        "participant_id": participant_id,
        "question_id": question_id,
        "option_id": option_id,
        "answered_at": now.astimezone(UTC),
        "source": "confirmed",
    }
    try:
        # A plain INSERT (no ORM unit of work): this is the hot path of a
        # morning's burst of confirmations.
        _INSERT_ANSWER.run(conn, values)
        db.commit()
    except (IntegrityError, conn.dialect.loaded_dbapi.IntegrityError):
        db.rollback()
        existing = db.execute(_RECORDED, {"pid": participant_id, "qid": question_id}).first()
        if existing is None:  # the conflict was something else (e.g. a foreign key)
            raise
        return RecordedAnswer(*existing), False
    return RecordedAnswer(option_id, now), True


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
