"""The "Mijn quiz" page: a participant's own progress, behind a signed link.

Every quiz email carries the link; there is no password. The page shows
which days were sent, answered and right, links to questions still open
and back to the feedback of those answered, when the next question
arrives and, at the end, the score, the bespreekkaart (not before: the
card holds the answer key) and the certificate of participation (when the
campaign gives one: the link, or from when). It only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, redirect, render_template, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from quiz import links
from quiz.answering import answers as answering
from quiz.answering.stats import recent_distribution
from quiz.answering.views import private_page
from quiz.db import get_session, utcnow
from quiz.delivery.planner import send_slot
from quiz.delivery.workdays import nth_working_day, parse_skip_dates
from quiz.errors import token_pages
from quiz.followups.bespreekkaart import pdf_available
from quiz.followups.certificate import participant_availability
from quiz.models import Answer, Delivery, Participant
from quiz.questionsets.view import QuestionView, question_view
from quiz.ratelimits import bad_tokens_per_address

bp = Blueprint("account", __name__)


@dataclass
class DayRow:
    q: QuestionView
    slot: datetime | None  # when the question email goes (or went) out
    sent: bool
    answer_label: str | None
    correct: bool | None
    answer_url: str | None  # for sent, unanswered questions while answers are open
    feedback_url: str | None  # for answered questions: the feedback and explanation again


@dataclass
class Progress:
    days: list[DayRow]
    total: int
    answered: int
    correct: int
    next_slot: datetime | None
    closes_at: datetime | None
    last_answer_day: date | None  # the last local day answers are accepted
    finished: bool  # every question answered, or the answer window closed


def progress(participant: Participant, now: datetime, token: str) -> Progress:
    """The participant's progress through the quiz at `now`; `token` is the
    "Mijn quiz" token the links to open questions go through."""
    session = get_session()
    campaign = participant.campaign
    question_ids = (
        [q.id for q in campaign.question_set.questions] if campaign.question_set is not None else []
    )
    sent = set(
        session.scalars(
            select(Delivery.question_id).where(
                Delivery.participant_id == participant.id,
                Delivery.kind == "question",
                Delivery.status == "sent",
            )
        )
    )
    answers = {
        a.question_id: a.option_id
        for a in session.scalars(select(Answer).where(Answer.participant_id == participant.id))
    }
    closes_at = answering.answers_close_at(campaign, participant, len(question_ids))
    is_open = closes_at is not None and now < closes_at
    skips = parse_skip_dates(campaign.skip_dates or ())
    days: list[DayRow] = []
    for question_id in question_ids:
        view = question_view(session, question_id)
        if view is None:
            continue
        slot = None
        if participant.first_quiz_day is not None:
            slot = send_slot(campaign, nth_working_day(participant.first_quiz_day, view.position, skips))
        chosen = view.option(answers[question_id]) if question_id in answers else None
        url = None
        if question_id in sent and chosen is None and is_open:
            url = url_for("account.open_question", token=token, position=view.position)
        days.append(
            DayRow(
                q=view,
                slot=slot,
                sent=question_id in sent,
                answer_label=chosen.label if chosen else None,
                correct=chosen.is_correct if chosen else None,
                answer_url=url,
                feedback_url=url_for("account.feedback", token=token, position=view.position)
                if chosen
                else None,
            )
        )
    answered = sum(1 for d in days if d.answer_label)
    upcoming = [d.slot for d in days if not d.sent and d.slot is not None]
    return Progress(
        days=days,
        total=len(days),
        answered=answered,
        correct=sum(1 for d in days if d.correct),
        next_slot=min(upcoming) if upcoming and participant.status == "active" else None,
        closes_at=closes_at,
        last_answer_day=(closes_at - timedelta(seconds=1)).astimezone(ZoneInfo(campaign.timezone)).date()
        if closes_at
        else None,
        finished=bool(days) and (answered == len(days) or not is_open),
    )


def participant_from_link(token: str, now: datetime) -> Participant:
    """The participant of a "Mijn quiz" link, or the friendly 400/410 page."""
    with token_pages("manage"):
        return answering.read_manage_link(get_session(), token, now)


@bp.get("/mijn-quiz/<token:token>/vraag/<int:position>")
@bad_tokens_per_address
def open_question(token: str, position: int) -> Response:
    """A question not answered yet: on to its answer page, nothing chosen.

    The answer link is signed here, for the one question someone opens, so
    the pages that list open questions need only the "Mijn quiz" token.
    """
    participant = participant_from_link(token, utcnow())
    question_set = participant.campaign.question_set
    question = (
        next((q for q in question_set.questions if q.position == position), None) if question_set else None
    )
    # Only questions that went out: the page must not show tomorrow's question today.
    if question is None or not get_session().scalar(
        select(Delivery.id).where(
            Delivery.participant_id == participant.id,
            Delivery.kind == "question",
            Delivery.question_id == question.id,
            Delivery.status == "sent",
        )
    ):
        abort(404)
    answer_url = url_for("answers.answer", token=links.answer_token(participant.id, question.id))
    return redirect(answer_url, code=303)


@bp.get("/mijn-quiz/<token:token>/antwoord/<int:position>")
@bad_tokens_per_address
def feedback(token: str, position: int) -> Response:
    """An answered question's feedback page again: the answer given, the
    explanation, how others answered, the discussion prompt.

    Through the "Mijn quiz" link, so it works as long as that page does,
    also after the answer window closed (answer links stop then). Only reads.
    """
    participant = participant_from_link(token, utcnow())
    session = get_session()
    question_set = participant.campaign.question_set
    questions = question_set.questions if question_set else []
    question = next((q for q in questions if q.position == position), None)
    if question is None:
        abort(404)
    answer = session.scalar(
        select(Answer).where(Answer.participant_id == participant.id, Answer.question_id == question.id)
    )
    view = question_view(session, question.id)
    if answer is None or view is None:
        abort(404)
    body = render_template(
        "answers/feedback.html",
        q=view,
        chosen=view.option(answer.option_id),
        answered_at=answer.answered_at,
        just_answered=False,
        review=True,
        tapped=None,
        distribution=recent_distribution(session, participant.campaign_id, view.id),
        unanswered=[],
        manage_url=url_for("account.my_quiz", token=token),
        campaign=participant.campaign,
        preview=False,
        discussed_token=links.discussed_token(participant.id, view.id),
        discussed_at=answer.discussed_at,
    )
    return private_page(body)


@bp.get("/mijn-quiz/<token:token>")
@bad_tokens_per_address
def my_quiz(token: str) -> Response:
    now = utcnow()
    participant = participant_from_link(token, now)
    body = render_template(
        "account/my_quiz.html",
        participant=participant,
        campaign=participant.campaign,
        p=progress(participant, now, token),
        certificate=participant_availability(get_session(), participant, now),
        certificate_pdf=pdf_available(),
        now=now,
        token=token,
        bespreekkaart_url=url_for(
            "bespreekkaart.card",
            slug=participant.campaign.question_set.slug,
            version=participant.campaign.question_set.version,
        )
        if participant.campaign.question_set
        else None,
    )
    return private_page(body)
