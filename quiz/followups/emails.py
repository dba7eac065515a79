"""What goes into the follow-up and summary emails, and the reminder block of
the question email. Registered with `quiz.delivery.emails.builder`.

Per message the follow-up signs two tokens and reads nothing: the question
comes from the question cache and the figures (all participants, and per
organisation) from `quiz.answering.stats.cached_question_figures`, one query per
question per minute for the whole drain. The summary reads the participant's
own answers (one query); the reminder block one small indexed query.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import UnmappedInstanceError

from quiz.answering.stats import Distribution, cached_question_figures
from quiz.db import get_session
from quiz.delivery.emails import base_context
from quiz.followups.certificate import Availability, participant_availability
from quiz.links import answer_token, discussed_token, manage_token
from quiz.models import Answer, Delivery, Question, QuestionSet
from quiz.questionsets.view import CACHE_SECONDS, QuestionView, question_view
from quiz.urls import external_url


def _session(delivery: Any) -> Session:
    """The delivery's own session; the request's one for a stand-in delivery
    (the organisers' "send me a test" builds one without a database row)."""
    for obj in (delivery, getattr(delivery, "question", None)):
        try:
            found = object_session(obj) if obj is not None else None
        except UnmappedInstanceError:
            found = None
        if found is not None:
            return found
    return get_session()


def discussed_url(participant_id: int, question_id: int) -> str:
    return external_url("discussed.discussed", token=discussed_token(participant_id, question_id))


@dataclass(frozen=True)
class OptionRow:
    label: str
    text: str
    is_correct: bool
    percent: int | None  # all participants; None while too few answered
    organisation_percent: int | None  # own organisation; None below its threshold


def option_rows(
    view: QuestionView, overall: Distribution | None, own: Distribution | None
) -> list[OptionRow]:
    shown = overall is not None and overall.shown
    return [
        OptionRow(
            label=o.label,
            text=o.text,
            is_correct=o.is_correct,
            percent=overall.percent(o.id) if shown else None,
            organisation_percent=own.percent(o.id) if own is not None else None,
        )
        for o in view.options
    ]


def organisation_headline(view: QuestionView, own: Distribution | None) -> str | None:
    """'In jouw organisatie koos 62% B.': the option most colleagues chose."""
    if own is None or not own.total:
        return None
    top = max(view.options, key=lambda o: (own.counts.get(o.id, 0), o.is_correct))
    return f"In jouw organisatie koos {own.percent(top.id)}% {top.label}."


def followup_context(delivery: Delivery, now: datetime) -> dict[str, Any]:
    """The question, the correct answer, the discussion prompt and how
    everyone (from 10 answers) and the own organisation (from 5) answered."""
    session = _session(delivery)
    if delivery.question_id is None:
        raise LookupError(f"follow-up delivery {delivery.id} has no question")
    view = question_view(session, delivery.question_id)
    if view is None:
        raise LookupError(f"question {delivery.question_id} does not exist")
    participant = delivery.participant
    campaign = participant.campaign
    overall = own = None
    if campaign.id:  # the organisers' test may use a campaign that is not saved
        figures = cached_question_figures(session, campaign.id, view.id)
        overall, own = figures.overall, figures.organisation(participant.organisation)
    pid = delivery.participant_id
    ctx = base_context(delivery)
    ctx.update(
        q=view,
        correct=view.correct,
        overall=overall,
        own=own,
        organisation_name=(participant.organisation or "").strip(),
        organisation_headline=organisation_headline(view, own),
        rows=option_rows(view, overall, own),
        discussed_url=discussed_url(pid, view.id),
        feedback_url=external_url("answers.answer", token=answer_token(pid, view.id)),
        manage_url=external_url("account.my_quiz", token=manage_token(pid)),
    )
    return ctx


# --- summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class _SetInfo:
    slug: str
    version: int
    question_ids: tuple[int, ...]


_set_cache_lock = threading.Lock()


def _set_info(session: Session, question_set_id: int) -> _SetInfo | None:
    """Slug, version and question ids of a set, cached like the questions."""
    cache: dict[int, tuple[float, _SetInfo | None]] = current_app.extensions.setdefault("quiz_set_info", {})
    now = time.monotonic()
    hit = cache.get(question_set_id)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    qs = session.get(QuestionSet, question_set_id)
    info = None
    if qs is not None:
        ids = session.scalars(
            select(Question.id).where(Question.question_set_id == qs.id).order_by(Question.position)
        )
        info = _SetInfo(qs.slug, qs.version, tuple(ids))
    with _set_cache_lock:
        cache[question_set_id] = (now, info)
    return info


def summary_context(delivery: Delivery, now: datetime) -> dict[str, Any]:
    """Score, every question with its correct answer, explanation and
    discussion prompt, the bespreekkaart, the certificate (a link, or from
    when) and an invitation to pass the quiz on."""
    session = _session(delivery)
    participant = delivery.participant
    campaign = participant.campaign
    info = _set_info(session, campaign.question_set_id) if campaign.question_set_id else None
    if info is None:
        raise LookupError(f"campaign {campaign.id} has no question set")
    chosen: dict[int, int] = {}
    if participant.id:
        chosen = dict(
            session.execute(
                select(Answer.question_id, Answer.option_id).where(Answer.participant_id == participant.id)
            ).all()
        )
    items = []
    for question_id in info.question_ids:
        view = question_view(session, question_id)
        if view is None:
            continue
        option = view.option(chosen[question_id]) if question_id in chosen else None
        items.append({"q": view, "correct": view.correct, "chosen": option})
    # A stand-in participant (the organisers' test mail) has no certificate.
    certificate = (
        participant_availability(session, participant, now) if participant.id else Availability("off")
    )
    ctx = base_context(delivery)
    ctx.update(
        items=items,
        total=len(items),
        answered=sum(1 for i in items if i["chosen"] is not None),
        score=sum(1 for i in items if i["chosen"] is not None and i["chosen"].is_correct),
        card_url=external_url("bespreekkaart.card", slug=info.slug, version=info.version),
        manage_url=external_url("account.my_quiz", token=manage_token(participant.id)),
        certificate=certificate,
        certificate_url=external_url("certificate.page", token=manage_token(participant.id))
        if certificate.available
        else None,
    )
    return ctx


# Registered with quiz.delivery.emails by create_app.
BUILDERS = {"followup": followup_context, "summary": summary_context}
