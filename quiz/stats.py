"""Figures about answers: the distribution participants see after answering.

Only confirmed answers count (an Answer exists only after a person pressed
the button); link hits, and certainly scanner sweeps, never do. Organisers'
figures (issues 6/7) build on the same queries.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quiz.models import Answer, LinkHit, Participant

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


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[tuple[int, int], tuple[float, Distribution]] = {}


def recent_distribution(session: Session, campaign_id: int, question_id: int) -> Distribution:
    """`answer_distribution`, at most DISTRIBUTION_CACHE_SECONDS old (per process)."""
    cache: _Cache = current_app.extensions.setdefault("quiz_distribution_cache", _Cache())
    key = (campaign_id, question_id)
    now = time.monotonic()
    hit = cache.items.get(key)
    if hit is not None and now - hit[0] < DISTRIBUTION_CACHE_SECONDS:
        return hit[1]
    result = answer_distribution(session, campaign_id, question_id)
    with cache.lock:
        cache.items[key] = (now, result)
    return result


def link_hit_counts(session: Session, question_id: int) -> dict[int | None, int]:
    """GETs on the answer links of a question per option, scanner sweeps left out."""
    rows = session.execute(
        select(LinkHit.option_id, func.count())
        .where(LinkHit.question_id == question_id, LinkHit.kind == "answer", LinkHit.is_sweep.is_(False))
        .group_by(LinkHit.option_id)
    ).all()
    return {option_id: int(n) for option_id, n in rows}
