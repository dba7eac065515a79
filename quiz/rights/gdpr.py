"""Participants' rights (AVG/GDPR): unsubscribe, export and erase.

- Unsubscribing stops all mail: the status becomes 'unsubscribed' and every
  delivery not yet claimed by a sender is cancelled in the same transaction.
  One a sender already holds, the sender cancels right before it would go
  out (quiz.delivery.sender, "Rights hold mid-send"). Idempotent. A bounced
  participant becomes 'unsubscribed' too: a bounce is no wish and an
  organiser may retry the address (quiz.delivery.outbox.requeue), an unsubscribe is
  one, and nothing undoes it.
- Erasing removes every personal field of the participant (address, name,
  organisation, sector, role, consent record, the certificate's verification
  code, so the certificate no longer verifies), the client fingerprints and
  user agents of their link hits and any delivery error text (an SMTP reply
  may quote the address), and cancels what was still to be sent (as
  unsubscribing does). The
  participant row stays as a bare id, so their answers (the week's and the
  repeat questions') still count in the statistics, anonymously. Idempotent.
- Export gives everything stored about one participant, as plain data.

`erase_where` does the same erasure set-based for the retention job.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from quiz.delivery import outbox
from quiz.models import RECEIVING, Answer, Delivery, LinkHit, Option, Participant, Question, RepeatAnswer

# RECEIVING, the statuses that still receive mail, is defined on the model;
# unsubscribing leaves them, and the rights pages ask `rights.RECEIVING`.
# Statuses an unsubscribe changes: those, and a bounce (which can be retried).
CAN_UNSUBSCRIBE = (*RECEIVING, "bounced")
# certificate_code too: once erased, the certificate no longer verifies.
PERSONAL_FIELDS = (
    "email", "name", "organisation", "sector", "role", "consent_at", "consent_version", "certificate_code",
)  # fmt: skip


def unsubscribe(session: Session, participant: Participant, now: datetime) -> bool:
    """Stop every email to `participant`; True if this call changed anything.

    Commits. A participant already unsubscribed or erased stays as they are
    (an erased one is not turned back into 'unsubscribed'), but any delivery
    still pending is cancelled all the same.
    """
    changed = False
    if participant.status in CAN_UNSUBSCRIBE:
        participant.status = "unsubscribed"
        participant.status_changed_at = now
        changed = True
    cancelled = outbox.cancel_pending(session, participant.id, "participant unsubscribed")
    session.commit()
    return changed or cancelled > 0


def erase(session: Session, participant: Participant, now: datetime) -> None:
    """Remove the participant's personal data now (see the module docstring). Commits."""
    erase_where(session, Participant.id == participant.id, now, "participant erased their data")
    session.commit()
    session.refresh(participant)


def erase_where(session: Session, condition: ColumnElement[bool], now: datetime, reason: str) -> int:
    """Erase every participant matching `condition`, set-based; returns how
    many were erased by this call. The caller commits."""
    ids = select(Participant.id).where(condition).scalar_subquery()
    session.execute(
        update(Delivery)
        .where(Delivery.participant_id.in_(ids), Delivery.status.in_(("pending", "deferred")))
        .values(status="cancelled", last_error=reason, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    # An SMTP reply often quotes the recipient's address.
    session.execute(
        update(Delivery)
        .where(Delivery.participant_id.in_(ids), Delivery.last_error.is_not(None))
        .values(last_error=reason)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(LinkHit)
        .where(LinkHit.participant_id.in_(ids))
        .values(client_hash=None, user_agent=None)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        update(Participant)
        .where(Participant.id.in_(ids), Participant.status != "erased")
        .values(status="erased", status_changed_at=now, **dict.fromkeys(PERSONAL_FIELDS))
        .execution_options(synchronize_session=False)
    )
    # Rows erased earlier by hand or by an older version: make sure nothing is left.
    session.execute(
        update(Participant)
        .where(Participant.id.in_(ids))
        .values(**dict.fromkeys(PERSONAL_FIELDS))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def stored_data(session: Session, participant: Participant) -> dict[str, Any]:
    """Everything stored about `participant`, as plain data (datetimes aware, in UTC)."""
    campaign = participant.campaign
    answers = session.execute(
        select(Answer, Question.position, Question.title, Option.label, Option.is_correct)
        .join(Question, Question.id == Answer.question_id)
        .join(Option, Option.id == Answer.option_id)
        .where(Answer.participant_id == participant.id)
        .order_by(Question.position)
    ).all()
    repeat_answers = session.execute(
        select(RepeatAnswer, Question.position, Question.title, Option.label, Option.is_correct)
        .join(Question, Question.id == RepeatAnswer.question_id)
        .join(Option, Option.id == RepeatAnswer.option_id)
        .where(RepeatAnswer.participant_id == participant.id)
        .order_by(RepeatAnswer.round, Question.position)
    ).all()
    deliveries = session.scalars(
        select(Delivery)
        .where(Delivery.participant_id == participant.id)
        .order_by(Delivery.created_at, Delivery.id)
    ).all()
    hits = session.scalars(
        select(LinkHit).where(LinkHit.participant_id == participant.id).order_by(LinkHit.hit_at, LinkHit.id)
    ).all()
    return {
        "participant": {
            "email": participant.email,
            "name": participant.name,
            "organisation": participant.organisation,
            "sector": participant.sector,
            "role": participant.role,
            "status": participant.status,
            "signed_up_at": participant.created_at,
            "consent_at": participant.consent_at,
            "consent_version": participant.consent_version,
            "confirmed_at": participant.confirmed_at,
            "first_quiz_day": participant.first_quiz_day,
            "status_changed_at": participant.status_changed_at,
            "certificate_code": participant.certificate_code,
            "repeats_stopped_at": participant.repeats_stopped_at,
        },
        "campaign": {"name": campaign.name, "slug": campaign.slug},
        "answers": [
            {
                "day": position,
                "question": title,
                "answer": label,
                "correct": bool(correct),
                "answered_at": answer.answered_at,
                "discussed_at": answer.discussed_at,
            }
            for answer, position, title, label, correct in answers
        ],
        "repeat_answers": [
            {
                "round": answer.round,
                "day": position,
                "question": title,
                "answer": label,
                "correct": bool(correct),
                "answered_at": answer.answered_at,
            }
            for answer, position, title, label, correct in repeat_answers
        ],
        "emails": [
            {"kind": d.kind, "day": d.day, "status": d.status, "due_at": d.due_at, "sent_at": d.sent_at}
            for d in deliveries
        ],
        "link_visits": [
            {
                "at": h.hit_at,
                "method": h.method,
                "browser": h.user_agent,
                "address_fingerprint": h.client_hash,
                "counted_as_mail_scanner": h.is_sweep,
            }
            for h in hits
        ],
    }


def export_data(session: Session, participant: Participant) -> dict[str, Any]:
    """`stored_data` ready for JSON: times in UTC as ISO 8601, dates as YYYY-MM-DD.

    The download is for machines (and for the participant's own records), so
    it keeps the stored codes and ISO times; the page shows them in Dutch.
    """

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, date):  # datetimes too
            return value.isoformat()
        return value

    return plain(stored_data(session, participant))
