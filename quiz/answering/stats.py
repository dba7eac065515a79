"""Figures about answers: the distribution participants see after answering.

Only confirmed answers count (an Answer exists only after a person pressed
the button); link hits, and certainly scanner sweeps, never do. Organisers'
figures (issues 6/7) build on the same queries; a participant sees their own
organisation's figures only from MIN_ORGANISATION_ANSWERS answers on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from quiz.models import Answer, LinkHit, Participant

T = TypeVar("T")

# Below this many answers the bars stay hidden: with a handful of colleagues
# in a campaign, a bar of 1 could point at one person.
MIN_ANSWERS_SHOWN = 10
# The feedback page may show a distribution this old; under a burst of
# answers one count per few seconds instead of one per answer.
DISTRIBUTION_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Distribution:
    counts: dict[int, int]  # option id -> confirmed answers
    total: int

    @property
    def shown(self) -> bool:
        """Whether the bars may be shown: at least MIN_ANSWERS_SHOWN answers."""
        return self.total >= MIN_ANSWERS_SHOWN

    def with_answer(self, option_id: int) -> Distribution:
        """This distribution plus one answer for `option_id`."""
        return Distribution({**self.counts, option_id: self.counts.get(option_id, 0) + 1}, self.total + 1)

    def percent(self, option_id: int) -> int:
        """Whole percent of answers for an option (0 when nobody answered)."""
        if not self.total:
            return 0
        return round(100 * self.counts.get(option_id, 0) / self.total)


def answer_distribution(session: Session, campaign_id: int, question_id: int) -> Distribution:
    """How the participants of a campaign answered a question (confirmed answers)."""
    rows = session.execute(
        select(Answer.option_id, func.count())
        .join(Participant, Participant.id == Answer.participant_id)
        .where(Answer.question_id == question_id, Participant.campaign_id == campaign_id)
        .group_by(Answer.option_id)
    ).all()
    counts = {option_id: int(n) for option_id, n in rows}
    return Distribution(counts, sum(counts.values()))


class _RecentCache:
    """Per-process results keyed by (campaign, question), each with the
    monotonic time it was computed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[tuple[int, int], tuple[float, Any]] = {}


def _recent(name: str, max_age: float, key: tuple[int, int], compute: Callable[[], T]) -> T:
    """`compute()`, or its result from this process if at most `max_age` seconds old."""
    cache: _RecentCache = current_app.extensions.setdefault(name, _RecentCache())
    now = time.monotonic()
    hit = cache.items.get(key)
    if hit is not None and now - hit[0] < max_age:
        return hit[1]
    result = compute()
    with cache.lock:
        cache.items[key] = (now, result)
    return result


def recent_distribution(session: Session, campaign_id: int, question_id: int) -> Distribution:
    """`answer_distribution`, at most DISTRIBUTION_CACHE_SECONDS old (per process)."""
    return _recent(
        "quiz_distribution_cache",
        DISTRIBUTION_CACHE_SECONDS,
        (campaign_id, question_id),
        lambda: answer_distribution(session, campaign_id, question_id),
    )


def link_hit_counts(session: Session, question_id: int) -> dict[int | None, int]:
    """GETs on the answer links of a question per option, scanner sweeps left out."""
    rows = session.execute(
        select(LinkHit.option_id, func.count())
        .where(LinkHit.question_id == question_id, LinkHit.kind == "answer", LinkHit.is_sweep.is_(False))
        .group_by(LinkHit.option_id)
    ).all()
    return {option_id: int(n) for option_id, n in rows}


# --- organisations and discussion ------------------------------------------------

# A participant sees how their own organisation answered only when at least
# this many people of it answered the question: fewer could point at a colleague.
MIN_ORGANISATION_ANSWERS = 5
# The follow-up emails of one drain share these figures; a minute-old count is
# as good as a fresh one for an email about yesterday's or this morning's question.
QUESTION_FIGURES_CACHE_SECONDS = 60.0


def organisation_key(name: str | None) -> str:
    """Organisations typed in different case or with stray spaces count as one
    (here and on the organisers' dashboard, quiz.admin.figures)."""
    return (name or "").strip().lower()


@dataclass(frozen=True)
class QuestionFigures:
    """How a campaign's participants answered one question, overall and per organisation."""

    overall: Distribution
    by_organisation: dict[str, Distribution]  # organisation_key -> distribution

    def organisation(self, name: str | None) -> Distribution | None:
        """The distribution of `name`'s organisation, when at least
        MIN_ORGANISATION_ANSWERS of its people answered; else None."""
        key = organisation_key(name)
        found = self.by_organisation.get(key) if key else None
        return found if found is not None and found.total >= MIN_ORGANISATION_ANSWERS else None


def question_figures(session: Session, campaign_id: int, question_id: int) -> QuestionFigures:
    """Confirmed answers to a question per organisation and option, in one query."""
    key = func.lower(func.trim(func.coalesce(Participant.organisation, "")))
    rows = session.execute(
        select(key, Answer.option_id, func.count())
        .join(Participant, Participant.id == Answer.participant_id)
        .where(Answer.question_id == question_id, Participant.campaign_id == campaign_id)
        .group_by(key, Answer.option_id)
    ).all()
    overall: dict[int, int] = {}
    per_org: dict[str, dict[int, int]] = {}
    for org, option_id, n in rows:
        overall[option_id] = overall.get(option_id, 0) + int(n)
        if org:
            per_org.setdefault(org, {})[option_id] = int(n)
    return QuestionFigures(
        Distribution(overall, sum(overall.values())),
        {org: Distribution(counts, sum(counts.values())) for org, counts in per_org.items()},
    )


def cached_question_figures(session: Session, campaign_id: int, question_id: int) -> QuestionFigures:
    """`question_figures`, at most QUESTION_FIGURES_CACHE_SECONDS old (per process):
    one query per question for a whole drain of follow-up emails."""
    return _recent(
        "quiz_question_figures",
        QUESTION_FIGURES_CACHE_SECONDS,
        (campaign_id, question_id),
        lambda: question_figures(session, campaign_id, question_id),
    )


def discussion_percent(discussed: int, answered: int) -> int | None:
    """The discussion rate of a question, in whole percent: of the participants
    who answered it (confirmed answers), the share who said "besproken in ons
    team". None when nobody answered. The one definition the dashboard, the
    CLI and the tests use."""
    return round(100 * discussed / answered) if answered else None


@dataclass(frozen=True)
class DiscussionRate:
    answered: int
    discussed: int

    @property
    def percent(self) -> int | None:
        return discussion_percent(self.discussed, self.answered)


def discussion_rates(session: Session, campaign_id: int) -> dict[int, DiscussionRate]:
    """Per question id: answered and discussed (see `discussion_percent`), one query."""
    discussed = func.coalesce(func.sum(case((Answer.discussed_at.is_not(None), 1), else_=0)), 0)
    rows = session.execute(
        select(Answer.question_id, func.count(), discussed)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(Participant.campaign_id == campaign_id)
        .group_by(Answer.question_id)
    ).all()
    return {qid: DiscussionRate(int(n), int(d)) for qid, n, d in rows}
