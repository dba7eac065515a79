"""What the certificate says: the participant's name, the campaign, the days
the quiz emails went out, each question with the first answer (and the
newest repeat answer), the score and the verification code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quiz.answering.answers import last_quiz_day
from quiz.models import Answer, Delivery, Option, Participant, RepeatAnswer


@dataclass(frozen=True)
class QuestionLine:
    position: int
    title: str
    answered: bool
    correct: bool
    repeat_correct: bool | None  # the newest repeat answer, when there is one


@dataclass(frozen=True)
class CertificateContent:
    name: str
    campaign: str
    first_day: date | None
    last_day: date | None
    lines: list[QuestionLine]
    code: str

    @property
    def total(self) -> int:
        return len(self.lines)

    @property
    def answered(self) -> int:
        return sum(1 for line in self.lines if line.answered)

    @property
    def score(self) -> int:
        return sum(1 for line in self.lines if line.correct)


def certificate_content(session: Session, participant: Participant, code: str) -> CertificateContent:
    """Name, campaign, the days the quiz emails went out, each question with
    the first answer (and the newest repeat answer), and the code."""
    campaign = participant.campaign
    zone = ZoneInfo(campaign.timezone)
    questions = campaign.question_set.questions if campaign.question_set is not None else []
    first = dict(
        session.execute(
            select(Answer.question_id, Option.is_correct)
            .join(Option, Option.id == Answer.option_id)
            .where(Answer.participant_id == participant.id)
        ).all()
    )
    repeats: dict[int, bool] = {}
    for question_id, correct in session.execute(
        select(RepeatAnswer.question_id, Option.is_correct)
        .join(Option, Option.id == RepeatAnswer.option_id)
        .where(RepeatAnswer.participant_id == participant.id)
        .order_by(RepeatAnswer.round)
    ):
        repeats[question_id] = bool(correct)  # the newest round wins
    sent_first, sent_last = session.execute(
        select(func.min(Delivery.sent_at), func.max(Delivery.sent_at)).where(
            Delivery.participant_id == participant.id,
            Delivery.kind.in_(("question", "repeat")),
            Delivery.status == "sent",
        )
    ).one()
    return CertificateContent(
        name=participant.name or "",
        campaign=campaign.name,
        first_day=sent_first.astimezone(zone).date() if sent_first else participant.first_quiz_day,
        last_day=sent_last.astimezone(zone).date()
        if sent_last
        else last_quiz_day(campaign, participant, len(questions)),
        lines=[
            QuestionLine(
                position=q.position,
                title=q.title,
                answered=q.id in first,
                correct=bool(first.get(q.id)),
                repeat_correct=repeats.get(q.id),
            )
            for q in questions
        ],
        code=code,
    )
