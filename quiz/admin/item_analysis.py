"""Item analysis of one version of a question set (issue 21), after Moodle's
quiz statistics: per question its facility, its discrimination and what each
option tells, with plain Dutch flags for the organisers.

Who counts: every participant, in any campaign using this version of the
set, who answered *all* of its questions (their first, confirmed answers;
repeat answers do not count here). A participant's rest-score on a question
is the number of the *other* questions they answered correctly. Participants
who stopped halfway are left out: with them in, a "weak" rest-score would
mostly mean "stopped reading the emails".

- facility: the share of those participants who answered correctly;
- discrimination: the point-biserial correlation between the question (1
  correct, 0 not) and the rest-score: how well the question separates those
  who know the meldcode from those who do not (−1 … 1);
- per option: the share who chose it and the mean rest-score of those who did.

Figures appear only from MIN_ITEM_ANSWERS participants on: below that one or
two people decide a correlation. The whole analysis is two GROUP BYs in one
statement (answers per participant, then per question and option with the
sums a correlation needs), so its cost does not depend on how many
participants there are in Python (bench/dashboard.py measures it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from quiz.admin.figures import roomy_work_mem
from quiz.models import Answer, Option, Question, QuestionSet

# Below this many complete answer sets a question's figures stay hidden: a
# correlation over fewer people says more about those people than about the question.
MIN_ITEM_ANSWERS = 30
# A distractor chosen by fewer than this share of participants does no work
# (a common rule of thumb in item writing: under 5 % it is "non-functioning").
RARE_OPTION_SHARE = 0.05
# Discrimination bands (Ebel's rule of thumb, also in Moodle's documentation).
WEAK_DISCRIMINATION = 0.2
GOOD_DISCRIMINATION = 0.3

NOBODY = (
    "Niemand koos dit antwoord. Het lokt dus geen fout uit en maakt de vraag makkelijker "
    "dan hij lijkt. Vervang het door een fout die mensen in de praktijk echt maken."
)
RARE = (
    "Bijna niemand koos dit antwoord (minder dan {percent} %). Het lokt dus nauwelijks een fout uit. "
    "Vervang het door een fout die mensen in de praktijk echt maken."
)
STRONG = (
    "Wie dit foute antwoord koos, had de andere vragen gemiddeld even vaak of vaker goed dan wie het "
    "goede antwoord koos. Deelnemers die de meldcode goed kennen, vinden dit antwoord dus ook "
    "te verdedigen. Lees de vraag en dit antwoord nog eens na: is de vraag duidelijk, en is dit "
    "antwoord echt fout?"
)


@dataclass(frozen=True)
class OptionSums:
    """What one GROUP BY row gives per (question, option): how many
    participants chose it, and the sum and sum of squares of their rest-scores."""

    chosen: int = 0
    rest_sum: int = 0
    rest_squares: int = 0


@dataclass(frozen=True)
class OptionAnalysis:
    option: Option
    chosen: int
    share: float | None  # of the question's participants, 0..1
    mean_rest: float | None  # None when nobody chose it
    flag: str | None  # a plain Dutch explanation when this distractor needs a look


@dataclass(frozen=True)
class ItemAnalysis:
    question: Question
    participants: int  # complete answer sets, i.e. people counted for this question
    facility: float | None  # share correct, 0..1
    discrimination: float | None  # point-biserial with the rest-score
    options: list[OptionAnalysis]
    min_answers: int = MIN_ITEM_ANSWERS

    @property
    def shown(self) -> bool:
        """Figures only from `min_answers` participants on."""
        return self.participants >= self.min_answers

    @property
    def flagged(self) -> list[OptionAnalysis]:
        return [o for o in self.options if o.flag]

    @property
    def discrimination_verdict(self) -> str:
        """What the discrimination means, in plain Dutch."""
        r = self.discrimination
        if r is None:
            return "Niet te berekenen: iedereen had deze vraag goed, of iedereen fout."
        if r < 0:
            return (
                "Negatief: wie deze vraag goed had, had de andere vragen vaker fout. "
                "Controleer of het goede antwoord klopt."
            )
        if r < WEAK_DISCRIMINATION:
            return "Zwak: de vraag maakt weinig verschil tussen wie de meldcode goed kent en wie niet."
        if r < GOOD_DISCRIMINATION:
            return "Redelijk: de vraag maakt enig verschil tussen wie de meldcode goed kent en wie niet."
        return "Goed: wie de andere vragen goed had, had ook deze vraag vaker goed."


@dataclass(frozen=True)
class SetAnalysis:
    question_set: QuestionSet
    complete: int  # participants who answered every question of this version
    items: list[ItemAnalysis]
    min_answers: int = MIN_ITEM_ANSWERS


def point_biserial(
    n: int, n_correct: int, rest_sum: int, rest_correct_sum: int, rest_squares: int
) -> float | None:
    """The point-biserial correlation between a 0/1 item and the rest-score,
    from sums: n people, n_correct of them correct, Σrest over all and over the
    correct ones, Σrest² over all.

        r = (M1 − M0) / s · √(p·q)

    with M1 and M0 the mean rest-scores of those correct and not, s the
    rest-scores' standard deviation (divided by n), p = n_correct / n, q = 1 − p:
    Pearson's r with one variable 0/1. None when it is undefined (everyone
    correct, nobody correct, or every rest-score the same).
    """
    if n == 0 or n_correct in (0, n):
        return None
    mean = rest_sum / n
    variance = rest_squares / n - mean * mean
    if variance <= 1e-12:
        return None
    p = n_correct / n
    mean_correct = rest_correct_sum / n_correct
    mean_wrong = (rest_sum - rest_correct_sum) / (n - n_correct)
    return (mean_correct - mean_wrong) / math.sqrt(variance) * math.sqrt(p * (1 - p))


def analyse_question(
    question: Question, sums: dict[int, OptionSums], min_answers: int = MIN_ITEM_ANSWERS
) -> ItemAnalysis:
    """One question's figures and flags from its per-option sums (pure)."""
    n = sum(s.chosen for s in sums.values())
    correct = question.correct_option
    right = sums.get(correct.id, OptionSums()) if correct is not None else OptionSums()
    right_mean = right.rest_sum / right.chosen if right.chosen else None
    options = []
    for option in question.options:
        s = sums.get(option.id, OptionSums())
        share = s.chosen / n if n else None
        mean_rest = s.rest_sum / s.chosen if s.chosen else None
        flag = None
        if not option.is_correct and n:
            if s.chosen == 0:
                flag = NOBODY
            elif share is not None and share < RARE_OPTION_SHARE:
                flag = RARE.format(percent=round(RARE_OPTION_SHARE * 100))
            elif right_mean is not None and mean_rest is not None and mean_rest >= right_mean:
                flag = STRONG
        options.append(OptionAnalysis(option, s.chosen, share, mean_rest, flag))
    rest_sum = sum(s.rest_sum for s in sums.values())
    rest_squares = sum(s.rest_squares for s in sums.values())
    return ItemAnalysis(
        question=question,
        participants=n,
        facility=right.chosen / n if n else None,
        discrimination=point_biserial(n, right.chosen, rest_sum, right.rest_sum, rest_squares),
        options=options,
        min_answers=min_answers,
    )


def analyse_set(
    session: Session, question_set: QuestionSet, min_answers: int = MIN_ITEM_ANSWERS
) -> SetAnalysis:
    """The item analysis of one version of a set, over every campaign using it:
    one statement whatever the number of participants."""
    questions = list(
        session.scalars(
            select(Question)
            .where(Question.question_set_id == question_set.id)
            .order_by(Question.position)
            .options(selectinload(Question.options))
        )
    )
    question_ids = [q.id for q in questions]
    correct_ids = [q.correct_option.id for q in questions if q.correct_option is not None]
    sums: dict[int, dict[int, OptionSums]] = {q.id: {} for q in questions}
    complete = 0
    if questions:
        roomy_work_mem(session)
        in_set = Answer.question_id.in_(question_ids)
        is_correct = Answer.option_id.in_(correct_ids or [-1])
        # Per participant who answered every question: their score.
        scores = (
            select(
                Answer.participant_id.label("participant_id"), func.count().filter(is_correct).label("score")
            )
            .where(in_set)
            .group_by(Answer.participant_id)
            .having(func.count() == len(questions))
            .subquery()
        )
        rest = scores.c.score - case((is_correct, 1), else_=0)
        rows = session.execute(
            select(Answer.question_id, Answer.option_id, func.count(), func.sum(rest), func.sum(rest * rest))
            .join(scores, scores.c.participant_id == Answer.participant_id)
            .where(in_set)
            .group_by(Answer.question_id, Answer.option_id)
        )
        for question_id, option_id, chosen, rest_sum, rest_squares in rows:
            # SUM(bigint) is numeric on PostgreSQL: back to int.
            sums[question_id][option_id] = OptionSums(int(chosen), int(rest_sum), int(rest_squares))
        complete = sum(s.chosen for s in sums[questions[0].id].values())
    items = [analyse_question(q, sums[q.id], min_answers) for q in questions]
    return SetAnalysis(question_set, complete, items, min_answers)
