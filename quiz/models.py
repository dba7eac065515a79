"""The tables: question sets, campaigns, participants, the outbox and answers.

The unique constraints carry the product's promises: one row per
(participant, kind, day) in the outbox means one question email per
participant per day, whatever the code paths do; one answer per
(participant, question) means the first confirmed answer is the one that
counts.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    and_,
    func,
)
from sqlalchemy import text as sql_text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from quiz.db import Base, UTCDateTime

SECTORS: dict[str, str] = {
    "onderwijs": "Onderwijs",
    "kinderopvang": "Kinderopvang",
    "jeugdhulp": "Jeugdhulp",
    "gezondheidszorg": "Gezondheidszorg",
    "maatschappelijke_ondersteuning": "Maatschappelijke ondersteuning",
    "justitie": "Justitie",
    "anders": "Anders",
}

PARTICIPANT_STATUSES = ("pending", "active", "completed", "unsubscribed", "bounced", "erased")
# Who receives mail, defined once (`Participant.receives_mail`; the planner,
# the sender, rights and signup ask it): a pending participant gets the
# confirmation, an active one the questions, a completed one the follow-ups
# and the summary. The others are gone: unsubscribed and erased for good,
# bounced until an operator retries their failed mail (quiz.delivery.outbox.requeue).
RECEIVING = ("pending", "active", "completed")
GONE = ("unsubscribed", "bounced", "erased")
DELIVERY_KINDS = ("confirm", "already_registered", "question", "followup", "reminder", "summary", "repeat")
DELIVERY_STATUSES = ("pending", "sending", "sent", "deferred", "failed", "cancelled")
START_MODES = ("fixed", "rolling")
# Which questions come back after the week (herhaalvragen): none, only the
# ones answered wrongly or not at all, or all of them.
REPEAT_MODES = ("none", "wrong", "all")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class QuestionSet(Base):
    """A versioned set of questions; a campaign points at exactly one version."""

    __tablename__ = "question_set"
    __table_args__ = (UniqueConstraint("slug", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(10), default="nl")
    intro: Mapped[str] = mapped_column(Text, default="")
    # "Check the answers against your own sector's meldcode" — shown with every question.
    sector_notice: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    questions: Mapped[list[Question]] = relationship(
        back_populates="question_set", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(Base):
    __tablename__ = "question"
    __table_args__ = (
        UniqueConstraint("question_set_id", "position"),
        CheckConstraint("meldcode_step IS NULL OR meldcode_step BETWEEN 1 AND 5", name="step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_set_id: Mapped[int] = mapped_column(ForeignKey("question_set.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # the quiz day, 1..N
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # Markdown subset
    explanation: Mapped[str] = mapped_column(Text)  # Markdown subset
    discussion_prompt: Mapped[str] = mapped_column(Text)  # Markdown subset
    meldcode_step: Mapped[int | None] = mapped_column(Integer)
    # [{"title": ..., "url": "https://..."}]
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    question_set: Mapped[QuestionSet] = relationship(back_populates="questions")
    options: Mapped[list[Option]] = relationship(
        back_populates="question", order_by="Option.position", cascade="all, delete-orphan"
    )

    @property
    def correct_option(self) -> Option | None:
        return next((o for o in self.options if o.is_correct), None)


class Option(Base):
    __tablename__ = "option"
    __table_args__ = (
        UniqueConstraint("question_id", "label"),
        UniqueConstraint("question_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(2))  # A, B, C, ...
    text: Mapped[str] = mapped_column(Text)
    is_correct: Mapped[bool] = mapped_column(Boolean, default=False)
    feedback: Mapped[str | None] = mapped_column(Text)

    question: Mapped[Question] = relationship(back_populates="options")


class Campaign(Base):
    """One run of the quiz: which questions, when they go out, when signup is open."""

    __tablename__ = "campaign"
    __table_args__ = (
        UniqueConstraint("slug"),
        CheckConstraint(_in("start_mode", START_MODES), name="start_mode"),
        CheckConstraint("start_mode = 'rolling' OR start_date IS NOT NULL", name="fixed_has_date"),
        CheckConstraint(_in("repeats", REPEAT_MODES), name="repeats"),
        CheckConstraint(
            "repeat_interval_days BETWEEN 1 AND 60 AND repeat_max BETWEEN 1 AND 5", name="repeat_bounds"
        ),
        # At most one campaign is public: the database, not the code path, says so.
        Index(
            "uq_campaign_public",
            "public",
            unique=True,
            sqlite_where=sql_text("public"),
            postgresql_where=sql_text("public"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    question_set_id: Mapped[int | None] = mapped_column(ForeignKey("question_set.id", ondelete="RESTRICT"))
    start_mode: Mapped[str] = mapped_column(String(10), default="rolling")
    start_date: Mapped[date | None] = mapped_column(Date)
    send_time: Mapped[time] = mapped_column(Time, default=time(7, 30))
    followup_time: Mapped[time] = mapped_column(Time, default=time(15, 0))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    # ISO dates (YYYY-MM-DD) on which no quiz email goes out, besides weekends and holidays.
    skip_dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    summary_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    followups_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    signup_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signup_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Last day answers are accepted; derived from the schedule when empty.
    ends_on: Mapped[date | None] = mapped_column(Date)
    # Repeat questions after the five days (issue 21): which questions come
    # back (REPEAT_MODES), after how many working days from the last quiz day
    # (round n is due n * interval working days after it), and how many rounds
    # at most. A question answered correctly on a repeat is mastered and does
    # not come back in later rounds.
    repeats: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    repeat_interval_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    repeat_max: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    # Whether participants can download a certificate of participation.
    certificates_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The campaign the front page `/` signs people up for, chosen by an
    # organiser (issue 19): creating another campaign never moves `/`. With
    # none public, `/` lists the campaigns whose signup is open.
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    question_set: Mapped[QuestionSet | None] = relationship()

    def signup_state(self, now: datetime) -> str:
        """'open', 'not_yet' or 'closed': signup is open from opens_at (inclusive)
        until closes_at (exclusive); a missing bound is no bound."""
        if self.signup_opens_at is not None and now < self.signup_opens_at:
            return "not_yet"
        if self.signup_closes_at is not None and now >= self.signup_closes_at:
            return "closed"
        return "open"


class Participant(Base):
    __tablename__ = "participant"
    __table_args__ = (
        # Implied by the index on lower(email) below, and kept: dropping it on
        # SQLite means copying the table (see that migration).
        UniqueConstraint("campaign_id", "email"),
        CheckConstraint(_in("status", PARTICIPANT_STATUSES), name="status"),
        Index("ix_participant_campaign_status", "campaign_id", "status"),
        Index("uq_participant_certificate_code", "certificate_code", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    # Normalised by email-validator; NULL once erased.
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(200))
    sector: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_version: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_quiz_day: Mapped[date | None] = mapped_column(Date)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the participant stops the repeat questions with one click,
    # without unsubscribing from the rest.
    repeats_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The certificate's verification code, made when the certificate is first
    # issued; erasing the participant's data clears it, so the code stops
    # verifying.
    certificate_code: Mapped[str | None] = mapped_column(String(32))

    campaign: Mapped[Campaign] = relationship()

    @hybrid_property
    def receives_mail(self) -> bool:
        """Whether any mail may go to this participant (see RECEIVING); in SQL
        too, as `Participant.receives_mail`. Without an address nobody does,
        whatever the status says."""
        return self.status in RECEIVING and self.email is not None

    @receives_mail.inplace.expression
    @classmethod
    def _receives_mail_expression(cls) -> ColumnElement[bool]:
        return and_(cls.status.in_(RECEIVING), cls.email.is_not(None))


# One person, one row: per campaign an address is unique whatever its case
# (Case.Test@ and case.test@ reach one mailbox), and the participant keeps
# the spelling given first. lower() of the database, in this index and in
# the lookup at signup (quiz.signup.participants), so the two always agree.
Index(
    "uq_participant_campaign_id_lower_email",
    Participant.campaign_id,
    func.lower(Participant.email),
    unique=True,
)


class Delivery(Base):
    """The outbox: one row per email that should go out.

    `day` is the question's position for question/followup/reminder, 0 for
    confirm/already_registered/summary, and for a repeat 100 * round +
    position (round 1 of question 3 is 103), so each repeat of each question
    has its own unique key. It is NOT NULL on purpose: a unique key over a nullable
    question id would let NULLs through as distinct, on SQLite and PostgreSQL
    alike.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("participant_id", "kind", "day", name="uq_delivery_participant_kind_question"),
        CheckConstraint(_in("kind", DELIVERY_KINDS), name="kind"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        Index("ix_delivery_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    day: Mapped[int] = mapped_column(Integer, default=0)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id", ondelete="SET NULL"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A claim is a lease: a worker that dies leaves rows that others take over
    # once claimed_until has passed.
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A delivery status notification that came back after the relay accepted
    # the message (quiz.delivery.bounces): 'hard' or 'soft', its RFC 3463 status code
    # (e.g. 5.1.1) and when it was processed.
    bounce_type: Mapped[str | None] = mapped_column(String(10))
    bounce_status: Mapped[str | None] = mapped_column(String(16))
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    participant: Mapped[Participant] = relationship()
    question: Mapped[Question | None] = relationship()


class Answer(Base):
    """An answer a person confirmed (POST); never created by a GET."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("participant_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    option_id: Mapped[int] = mapped_column(ForeignKey("option.id", ondelete="CASCADE"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20), default="confirmed")
    # Set when the participant says the question was discussed in their team.
    discussed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participant: Mapped[Participant] = relationship()
    question: Mapped[Question] = relationship()
    option: Mapped[Option] = relationship()


class RepeatAnswer(Base):
    """An answer a person confirmed on a repeat question (round 1, 2, ...).

    Kept apart from Answer so that the first answer stays the one that counts
    for the week's figures; the retention figure compares the two.
    """

    __tablename__ = "repeat_answer"
    __table_args__ = (UniqueConstraint("participant_id", "question_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    option_id: Mapped[int] = mapped_column(ForeignKey("option.id", ondelete="CASCADE"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20), default="confirmed")

    participant: Mapped[Participant] = relationship()
    question: Mapped[Question] = relationship()
    option: Mapped[Option] = relationship()


class LinkHit(Base):
    """A GET or HEAD on a link from an email: provisional, never an answer."""

    __tablename__ = "link_hit"
    __table_args__ = (Index("ix_link_hit_participant_question", "participant_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    option_id: Mapped[int | None] = mapped_column(ForeignKey("option.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default="answer")
    method: Mapped[str] = mapped_column(String(8))
    hit_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_hash: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    is_sweep: Mapped[bool] = mapped_column(Boolean, default=False)


class Organiser(Base):
    __tablename__ = "organiser"
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Copied into the session cookie at login; an admin request whose cookie
    # holds another number is refused. Logout and a password change raise it,
    # which ends every session of this organiser on the server side (a signed
    # cookie cannot be taken back any other way).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
