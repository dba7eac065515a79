"""The retention figure on the campaign dashboard (issue 21): do participants
still know the answer when a question comes back?

Per question, overall and per sector: of the participants who answered a
question in the week *and* again on a repeat, the share correct at the first
attempt against the share correct at the repeat. The repeat that counts is
each participant's first answered repeat round of that question (a second
round is only sent to some, and would flatter the figure). Comparing the same
people twice is what makes it a learning effect; the share correct of all
repeat answers would compare different groups.

The dashboard's k-anonymity rule holds here too (quiz.admin.figures): a group
of fewer than MIN_GROUP participants shows no percentages, and sectors that
small are added up under "overig".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from quiz.admin.figures import MIN_ORGANISATION, OTHER, pct
from quiz.models import SECTORS, Answer, Campaign, Participant, Question, RepeatAnswer

MIN_GROUP = MIN_ORGANISATION  # the same five people as the organisations on the dashboard


@dataclass
class Retention:
    """First attempt against the repeat for one group of answer pairs."""

    name: str
    participants: int = 0
    pairs: int = 0  # (participant, question) with both a first and a repeat answer
    first_correct: int = 0
    repeat_correct: int = 0

    @property
    def shown(self) -> bool:
        return self.participants >= MIN_GROUP

    @property
    def first_percent(self) -> int | None:
        return pct(self.first_correct, self.pairs) if self.shown else None

    @property
    def repeat_percent(self) -> int | None:
        return pct(self.repeat_correct, self.pairs) if self.shown else None

    @property
    def change(self) -> int | None:
        """Percentage points from the first attempt to the repeat."""
        first, repeat = self.first_percent, self.repeat_percent
        return repeat - first if first is not None and repeat is not None else None

    def add(self, pairs: int, first_correct: int, repeat_correct: int) -> None:
        self.pairs += pairs
        self.first_correct += first_correct
        self.repeat_correct += repeat_correct


@dataclass
class RetentionFigures:
    overall: Retention
    questions: list[tuple[Question, Retention]]
    sectors: list[Retention] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return self.overall.pairs > 0


def retention(session: Session, campaign: Campaign, questions: list[Question]) -> RetentionFigures:
    """The campaign's retention figures in two grouped statements."""
    correct_ids = [q.correct_option.id for q in questions if q.correct_option is not None] or [-1]
    # Each participant's first answered repeat round per question.
    first_round = (
        select(
            RepeatAnswer.participant_id.label("participant_id"),
            RepeatAnswer.question_id.label("question_id"),
            func.min(RepeatAnswer.round).label("round"),
        )
        .where(RepeatAnswer.question_id.in_([q.id for q in questions] or [-1]))
        .group_by(RepeatAnswer.participant_id, RepeatAnswer.question_id)
        .subquery()
    )
    pairs = (
        select(
            Answer.participant_id.label("participant_id"),
            Answer.question_id.label("question_id"),
            Participant.sector.label("sector"),
            Answer.option_id.in_(correct_ids).label("first_correct"),
            RepeatAnswer.option_id.in_(correct_ids).label("repeat_correct"),
        )
        .join(
            first_round,
            and_(
                first_round.c.participant_id == Answer.participant_id,
                first_round.c.question_id == Answer.question_id,
            ),
        )
        .join(
            RepeatAnswer,
            and_(
                RepeatAnswer.participant_id == first_round.c.participant_id,
                RepeatAnswer.question_id == first_round.c.question_id,
                RepeatAnswer.round == first_round.c.round,
            ),
        )
        .join(Participant, Participant.id == Answer.participant_id)
        .where(Participant.campaign_id == campaign.id)
        .subquery()
    )
    per_question: dict[int, Retention] = {}
    per_sector: dict[str | None, Retention] = {}
    overall = Retention("Alle vragen")
    for question_id, sector, n, first, repeat in session.execute(
        select(
            pairs.c.question_id,
            pairs.c.sector,
            func.count(),
            func.count().filter(pairs.c.first_correct),
            func.count().filter(pairs.c.repeat_correct),
        ).group_by(pairs.c.question_id, pairs.c.sector)
    ):
        n, first, repeat = int(n), int(first), int(repeat)
        per_question.setdefault(question_id, Retention("")).add(n, first, repeat)
        per_sector.setdefault(sector, Retention(SECTORS.get(sector or "", "Onbekend"))).add(n, first, repeat)
        overall.add(n, first, repeat)
    # One pair per participant and question: a question's pairs are its participants.
    for figures in per_question.values():
        figures.participants = figures.pairs
    for sector, people in session.execute(
        select(pairs.c.sector, func.count(pairs.c.participant_id.distinct())).group_by(pairs.c.sector)
    ):
        per_sector[sector].participants = int(people)
        overall.participants += int(people)
    return RetentionFigures(
        overall=overall,
        questions=[(q, per_question.get(q.id, Retention(q.title))) for q in questions],
        sectors=small_sectors_together(per_sector.values()),
    )


def small_sectors_together(sectors: Iterable[Retention]) -> list[Retention]:
    """Sectors with at least MIN_GROUP participants, biggest first, then the
    smaller ones added up as "overig" (which shows its percentages only when
    it reaches MIN_GROUP itself)."""
    shown: list[Retention] = []
    other = Retention(OTHER)
    for group in sectors:
        if group.shown:
            shown.append(group)
        else:
            other.participants += group.participants
            other.add(group.pairs, group.first_correct, group.repeat_correct)
    shown.sort(key=lambda g: (-g.participants, g.name))
    if other.pairs:
        shown.append(other)
    return shown
