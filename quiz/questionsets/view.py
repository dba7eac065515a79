"""A question as emails and answer pages show it, rendered once and cached.

The morning drain renders 100,000 question emails and the answer pages serve
a burst of confirmations right after; both need the same handful of
questions. Loading a question with its options and rendering its Markdown
once per process (for at most CACHE_SECONDS, so an organiser's correction
shows up within a minute) keeps per-message work to string formatting.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from quiz.models import Question
from quiz.questionsets.richtext import is_safe_url, to_html, to_text

CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class OptionView:
    id: int
    label: str
    text: str
    is_correct: bool
    feedback_html: Markup


@dataclass(frozen=True)
class SourceView:
    title: str
    url: str | None  # None when the address is not a safe http(s) link


@dataclass(frozen=True)
class QuestionView:
    id: int
    question_set_id: int
    position: int  # the quiz day, 1..total
    total: int  # questions in the set
    title: str
    body_html: Markup
    body_text: str
    explanation_html: Markup
    discussion_html: Markup
    discussion_text: str
    sources: tuple[SourceView, ...]
    options: tuple[OptionView, ...]
    explanation_text: str = ""  # for the text part of the summary email

    @property
    def correct(self) -> OptionView | None:
        return next((o for o in self.options if o.is_correct), None)

    def option(self, option_id: int) -> OptionView | None:
        return next((o for o in self.options if o.id == option_id), None)


def _sources(raw: list[dict[str, Any]] | None) -> tuple[SourceView, ...]:
    out = []
    for item in raw or ():
        if not isinstance(item, dict):
            continue
        url = str(item.get("url") or "").strip()
        title = str(item.get("title") or url).strip()
        if title:
            out.append(SourceView(title=title, url=url if url and is_safe_url(url) else None))
    return tuple(out)


def build_view(question: Question, total: int) -> QuestionView:
    """Render `question` (with its options loaded) into a QuestionView."""
    return QuestionView(
        id=question.id,
        question_set_id=question.question_set_id,
        position=question.position,
        total=total,
        title=question.title,
        body_html=to_html(question.body),
        body_text=to_text(question.body),
        explanation_html=to_html(question.explanation),
        discussion_html=to_html(question.discussion_prompt),
        discussion_text=to_text(question.discussion_prompt),
        sources=_sources(question.sources),
        options=tuple(
            OptionView(
                id=o.id,
                label=o.label,
                text=o.text,
                is_correct=bool(o.is_correct),
                feedback_html=to_html(o.feedback or ""),
            )
            for o in question.options
        ),
        explanation_text=to_text(question.explanation),
    )


def load_view(session: Session, question_id: int) -> QuestionView | None:
    """Load and render one question from the database (no cache)."""
    question = session.scalar(
        select(Question).where(Question.id == question_id).options(selectinload(Question.options))
    )
    if question is None:
        return None
    total = session.scalar(
        select(func.count()).select_from(Question).where(Question.question_set_id == question.question_set_id)
    )
    return build_view(question, int(total or 0))


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[int, tuple[float, QuestionView | None]] = {}


def _cache(app: Flask) -> _Cache:
    cache = app.extensions.get("quiz_question_views")
    if cache is None:
        cache = app.extensions.setdefault("quiz_question_views", _Cache())
    return cache


def question_view(session: Session, question_id: int) -> QuestionView | None:
    """The cached view of a question; None when it does not exist."""
    cache = _cache(current_app)
    now = time.monotonic()
    hit = cache.items.get(question_id)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    view = load_view(session, question_id)
    with cache.lock:
        cache.items[question_id] = (now, view)
    return view


def forget_views(app: Flask | None = None) -> None:
    """Drop every cached question (after an import or an edit)."""
    cache = _cache(app or current_app)
    with cache.lock:
        cache.items.clear()
