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

from quiz.admin.figures import MIN_ORGANISATION, OTHER, pct, roomy_work_mem
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
    """The campaign's retention figures in one statement whatever its size."""
    roomy_work_mem(session)
    correct_ids = [q.correct_option.id for q in questions if q.correct_option is not None] or [-1]
    round_ = RepeatAnswer.round
    # Per participant and question, whether their first answered repeat round
    # was right: one answer per round, so it was when the first round with a
    # right answer is the first round. No self-join back to that round's row.
    first_repeat = (
        select(
            RepeatAnswer.participant_id.label("participant_id"),
            RepeatAnswer.question_id.label("question_id"),
            (func.min(round_).filter(RepeatAnswer.option_id.in_(correct_ids)) == func.min(round_)).label(
                "correct"
            ),
        )
        .where(RepeatAnswer.question_id.in_([q.id for q in questions] or [-1]))
        .group_by(RepeatAnswer.participant_id, RepeatAnswer.question_id)
        .subquery()
    )
    # Per participant, per question: a pair (0 or 1), right at the first
    # attempt, right at the first repeat. Counted per participant first and
    # only then per sector: the people per sector come out as a plain count
    # (no COUNT DISTINCT), and the sector is looked up once per participant,
    # not once per pair. About a third less work than grouping the pairs per
    # question and sector (bench/dashboard.py, CPU time).
    first_right = Answer.option_id.in_(correct_ids)
    columns = []
    for q in questions:
        on_q = Answer.question_id == q.id
        columns += [
            func.count().filter(on_q),
            func.count().filter(and_(on_q, first_right)),
            func.count().filter(and_(on_q, first_repeat.c.correct)),
        ]
    per_participant = (
        select(Answer.participant_id.label("participant_id"), *columns)
        .join(
            first_repeat,
            and_(
                first_repeat.c.participant_id == Answer.participant_id,
                first_repeat.c.question_id == Answer.question_id,
            ),
        )
        .group_by(Answer.participant_id)
        .subquery()
    )
    sums = [func.coalesce(func.sum(c), 0) for c in list(per_participant.c)[1:]]
    rows = session.execute(
        select(Participant.sector, func.count(), *sums)
        .join(per_participant, per_participant.c.participant_id == Participant.id)
        .where(Participant.campaign_id == campaign.id)
        .group_by(Participant.sector)
    )
    per_question = {q.id: Retention(q.title) for q in questions}
    per_sector: dict[str | None, Retention] = {}
    overall = Retention("Alle vragen")
    for sector, people, *counts in rows:
        group = per_sector.setdefault(sector, Retention(SECTORS.get(sector or "", "Onbekend")))
        group.participants += int(people)
        overall.participants += int(people)
        for i, q in enumerate(questions):
            n, first, repeat = (int(x) for x in counts[3 * i : 3 * i + 3])  # SUM(bigint) is numeric
            per_question[q.id].add(n, first, repeat)
            group.add(n, first, repeat)
            overall.add(n, first, repeat)
    # One pair per participant and question: a question's pairs are its participants.
    for figures in per_question.values():
        figures.participants = figures.pairs
    return RetentionFigures(
        overall=overall,
        questions=[(q, per_question[q.id]) for q in questions],
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
