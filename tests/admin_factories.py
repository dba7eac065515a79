"""Builders for the organisers' tests: an organiser, the shipped question set,
answers, and a test client that logs in and posts forms with their CSRF token."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from quiz.admin.organisers import create_organiser
from quiz.db import utcnow
from quiz.models import Answer, Campaign, Organiser, Participant, QuestionSet, RepeatAnswer
from quiz.questionsets import validate_bytes
from quiz.questionsets.store import import_set
from tests.factories import make_campaign, make_participant

EMAIL = "organisator@example.org"
PASSWORD = "lang-en-geheim-wachtwoord"
MELDCODE = Path(__file__).resolve().parent.parent / "questions" / "meldcode.toml"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def make_organiser(
    session: Session, email: str = EMAIL, password: str = PASSWORD, **fields: Any
) -> Organiser:
    organiser = create_organiser(session, email, password, utcnow())
    for name, value in fields.items():
        setattr(organiser, name, value)
    session.commit()
    return organiser


def import_meldcode(session: Session, now: datetime | None = None) -> QuestionSet:
    result = validate_bytes(MELDCODE.read_bytes(), str(MELDCODE))
    assert result.data is not None, result.problems
    return import_set(session, result.data, now or utcnow()).question_set


def campaign_with_set(session: Session, **fields: Any) -> tuple[Campaign, QuestionSet]:
    question_set = import_meldcode(session)
    campaign = make_campaign(session, utcnow(), question_set_id=question_set.id, **fields)
    return campaign, question_set


def answer(session: Session, participant: Participant, question_set: QuestionSet, day: int, label: str,
           discussed: bool = False) -> Answer:  # fmt: skip
    question = question_set.questions[day - 1]
    option = next(o for o in question.options if o.label == label)
    now = utcnow()
    row = Answer(
        participant_id=participant.id,
        question_id=question.id,
        option_id=option.id,
        answered_at=now,
        discussed_at=now if discussed else None,
    )
    session.add(row)
    session.commit()
    return row


def answered_participant(session: Session, campaign: Campaign, question_set: QuestionSet) -> Participant:
    """One participant who answered day 1 with the correct option."""
    participant = make_participant(session, campaign, utcnow(), email="antwoorder@example.org")
    correct = question_set.questions[0].correct_option
    assert correct is not None
    answer(session, participant, question_set, 1, correct.label)
    return participant


class AdminClient:
    """A Flask test client as an organiser: logs in and posts with a CSRF token."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def csrf(self, url: str = "/admin/inloggen") -> str:
        match = _CSRF.search(self.client.get(url).text)
        assert match, f"no CSRF token on {url}"
        return match.group(1) or match.group(2)

    def login(self, email: str = EMAIL, password: str = PASSWORD) -> Any:
        token = self.csrf("/admin/inloggen")
        return self.client.post(
            "/admin/inloggen", data={"email": email, "password": password, "csrf_token": token}
        )

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        token = self.csrf("/admin/campagnes")
        return self.client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


def flashes(page_text: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", m).strip() for m in re.findall(r'class="flash[^"]*">(.*?)</p>', page_text, re.S)
    ]


def repeat_answer(session: Session, participant: Participant, question_set: QuestionSet, day: int, label: str,
                  round_: int = 1) -> RepeatAnswer:  # fmt: skip
    """The participant's answer to question `day` on repeat round `round_`
    (made directly: the figures do not care how the repeat email went out)."""
    question = question_set.questions[day - 1]
    option = next(o for o in question.options if o.label == label)
    row = RepeatAnswer(
        participant_id=participant.id,
        question_id=question.id,
        round=round_,
        option_id=option.id,
        answered_at=utcnow(),
    )
    session.add(row)
    session.commit()
    return row
