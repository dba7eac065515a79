"""Signing up and confirming: the participant's side of double opt-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quiz.delivery import outbox
from quiz.delivery.planner import first_quiz_day
from quiz.models import Campaign, Delivery, Participant

CONSENT_VERSION = "2026-12"  # bump when the privacy statement changes
# A signup never confirmed is removed this many days after its last attempt
# (quiz.rights.retention); its confirmation link has expired by then. The
# privacy statement names the number.
UNCONFIRMED_DAYS = 7


@dataclass
class SignupData:
    email: str  # already normalised
    name: str | None
    organisation: str
    sector: str
    role: str | None


def register(
    session: Session, campaign: Campaign, data: SignupData, now: datetime, resend_after: timedelta
) -> str:
    """Store a pending participant and enqueue the confirmation, in one transaction.

    Whatever the outcome, the person sees the same "check your email" page, so
    nobody can find out who takes part. Returns what happened, for logs and tests:
    'new', 'resent', 'already_active', 'throttled' or 'inactive'.

    An address is one person whatever its case: signing up again as
    case.test@ after Case.Test@ finds the same participant (the database's
    unique index on lower(email) says the same), and mail keeps going to
    the spelling given first.
    """
    participant = session.scalar(
        select(Participant).where(
            Participant.campaign_id == campaign.id,
            func.lower(Participant.email) == func.lower(data.email),
        )
    )
    if participant is None:
        participant = Participant(
            campaign=campaign,
            email=data.email,
            name=data.name,
            organisation=data.organisation,
            sector=data.sector,
            role=data.role,
            status="pending",
            consent_at=now,
            consent_version=CONSENT_VERSION,
            created_at=now,
            status_changed_at=now,
        )
        session.add(participant)
        try:
            session.flush()
        except IntegrityError:
            # The same address signed up at the same moment in another request.
            session.rollback()
            return register(session, campaign, data, now, resend_after)
        outbox.enqueue(session, participant_id=participant.id, kind="confirm", due_at=now, now=now)
        session.commit()
        return "new"

    if participant.status == "pending":
        outcome = _resend(session, participant, "confirm", now, resend_after)
        if outcome == "resent":
            # A new signup may correct the details given the first time.
            participant.name, participant.organisation = data.name, data.organisation
            participant.sector, participant.role = data.sector, data.role
            participant.consent_at = now
        session.commit()
        return outcome
    if participant.status in ("active", "completed"):
        outcome = _resend(session, participant, "already_registered", now, resend_after)
        session.commit()
        return "already_active" if outcome == "resent" else outcome
    # Unsubscribed, bounced or erased: no email. Signing up again after
    # unsubscribing is a later decision (see the participant-rights issue).
    return "inactive"


def _resend(
    session: Session, participant: Participant, kind: str, now: datetime, resend_after: timedelta
) -> str:
    """Queue `kind` again unless it was queued less than `resend_after` ago."""
    existing = session.scalar(
        select(Delivery).where(
            Delivery.participant_id == participant.id, Delivery.kind == kind, Delivery.day == 0
        )
    )
    if existing is None:
        outbox.enqueue(session, participant_id=participant.id, kind=kind, due_at=now, now=now)
        return "resent"
    if existing.status in ("pending", "sending", "deferred") or now - existing.due_at < resend_after:
        return "throttled"
    outbox.rearm(session, existing, now)
    return "resent"


def confirm(session: Session, participant: Participant, now: datetime) -> bool:
    """Activate a pending participant and fix their first quiz day.

    Idempotent: confirming twice changes nothing the second time. Returns True
    when this call confirmed.
    """
    if participant.status != "pending":
        return False
    participant.status = "active"
    participant.confirmed_at = now
    participant.status_changed_at = now
    participant.first_quiz_day = first_quiz_day(participant.campaign, now)
    session.commit()
    return True
