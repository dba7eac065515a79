"""Rows the delivery-engine tests need: a small question set and many participants."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from quiz.models import Campaign, Option, Participant, Question, QuestionSet


def make_question_set(
    session: Session, now: datetime, count: int = 5, slug: str = "engine-test"
) -> QuestionSet:
    """`count` questions with options A–C (B correct)."""
    qs = QuestionSet(slug=slug, version=1, title="Meldcode in de praktijk", created_at=now, updated_at=now)
    for position in range(1, count + 1):
        question = Question(
            position=position,
            title=f"Vraag {position}",
            body=f"Wat doe je bij situatie {position}?",
            explanation="Omdat de meldcode dat vraagt.",
            discussion_prompt="Bespreek dit met je team.",
            meldcode_step=min(position, 5),
            sources=[],
        )
        for i, label in enumerate("ABC"):
            question.options.append(
                Option(position=i + 1, label=label, text=f"Antwoord {label}", is_correct=label == "B")
            )
        qs.questions.append(question)
    session.add(qs)
    session.commit()
    return qs


def add_participants(
    session: Session,
    campaign: Campaign,
    now: datetime,
    count: int,
    first_quiz_day: date | None,
    **fields: Any,
) -> None:
    """Active participants p0@…, p1@… in one multi-row INSERT."""
    rows = [
        {
            "campaign_id": campaign.id,
            "email": f"p{i}@example.org",
            "name": f"Deelnemer {i}",
            "organisation": "Basisschool De Linde",
            "sector": "onderwijs",
            "status": "active",
            "consent_at": now,
            "consent_version": "test",
            "created_at": now,
            "confirmed_at": now,
            "status_changed_at": now,
            "first_quiz_day": first_quiz_day,
            **fields,
        }
        for i in range(count)
    ]
    session.execute(insert(Participant), rows)
    session.commit()


def queue_confirmations(session: Session, count: int) -> None:
    """`count` pending sign-ups in a new campaign, each with its confirmation
    email due now: a queue for the sender to drain."""
    from quiz.db import utcnow
    from quiz.delivery.outbox import enqueue
    from tests.factories import make_campaign

    now = utcnow()
    campaign = make_campaign(session, now)
    add_participants(session, campaign, now, count, first_quiz_day=None, status="pending")
    for pid in session.scalars(select(Participant.id)).all():
        enqueue(session, participant_id=pid, kind="confirm", due_at=now, now=now)
    session.commit()
