"""Builders for the answer tests: a question set, a campaign on it, and a
question email actually sent through the outbox to the test SMTP server."""

from __future__ import annotations

import re
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from quiz.delivery.outbox import enqueue
from quiz.delivery.sender import send_due
from quiz.models import Campaign, Option, Participant, Question, QuestionSet
from tests.factories import make_campaign, make_participant

LABELS = "ABCD"


def make_question_set(
    session: Session, now: datetime, questions: int = 5, options: int = 4, slug: str = "meldcode"
) -> QuestionSet:
    """A set of `questions` questions; option B is right in each."""
    qs = QuestionSet(slug=slug, version=1, title="Meldcode in de praktijk", created_at=now, updated_at=now)
    for k in range(1, questions + 1):
        q = Question(
            position=k,
            title=f"Vraag over stap {k}",
            body=f"Je ziet signalen bij een kind (vraag {k}). **Wat doe je eerst?**",
            explanation="Je brengt signalen eerst *in kaart*. Advies vragen is geen melden.",
            discussion_prompt="Bespreek met je team: wie is bij jullie de *aandachtsfunctionaris*?",
            meldcode_step=min(k, 5),
            sources=[
                {"title": "Rijksoverheid: meldcode", "url": "https://www.rijksoverheid.nl/meldcode"},
                {"title": "Onveilige bron", "url": "javascript:alert(1)"},
            ],
        )
        for i in range(options):
            q.options.append(
                Option(
                    position=i + 1,
                    label=LABELS[i],
                    text=f"Antwoord {LABELS[i]} bij vraag {k}",
                    is_correct=(i == 1),
                    feedback="Klopt, zo staat het in stap 1." if i == 1 else None,
                )
            )
        qs.questions.append(q)
    session.add(qs)
    session.commit()
    return qs


def make_quiz(session: Session, now: datetime, **campaign_fields: Any) -> tuple[Campaign, QuestionSet]:
    qs = make_question_set(session, now)
    campaign = make_campaign(session, now, question_set_id=qs.id, **campaign_fields)
    return campaign, qs


def make_players(
    session: Session, campaign: Campaign, now: datetime, count: int, first_day: date = date(2026, 11, 16)
) -> list[Participant]:
    return [
        make_participant(session, campaign, now, email=f"collega{i}@example.org", first_quiz_day=first_day)
        for i in range(count)
    ]


def send_question(
    app: Flask, session: Session, participant: Participant, question: Question, now: datetime
) -> None:
    """Enqueue question `question` for `participant` and drain the outbox at `now`."""
    enqueue(
        session,
        participant_id=participant.id,
        kind="question",
        day=question.position,
        question_id=question.id,
        due_at=now,
        now=now,
    )
    session.commit()
    send_due(app, lambda: now, "test")


def links(message: EmailMessage, part: str = "plain") -> list[str]:
    """Every quiz link in one part of a message, as paths (host stripped), in order."""
    body = message.get_body(preferencelist=(part,)).get_content()
    return [m.group(1) for m in re.finditer(r'https?://[^/\s"]+(/[^\s"<>]*)', body)]
