"""'Besproken in ons team': a participant records that their team discussed a question.

The link comes from the follow-up email (and the feedback page posts to it).
Like answer links: GET shows a page with one button and changes nothing, so
a mail scanner opening the link records nothing; only the POST records, and
pressing twice keeps the first moment. Recording needs a confirmed answer to
the question: the discussion rate is a share of the answers (quiz.answering.stats).
The signed token [participant, question] is the only credential; the abuse
limits of the other token routes apply (quiz.ratelimits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template, request
from sqlalchemy import update
from werkzeug.wrappers import Response

from quiz.answering import answers as answering
from quiz.answering.views import private_page
from quiz.db import get_session, utcnow
from quiz.errors import token_pages
from quiz.extensions import csrf
from quiz.links import TokenExpired, TokenInvalid, answer_token, manage_token, read_discussed
from quiz.models import Answer, Participant
from quiz.questionsets.view import QuestionView, question_view
from quiz.ratelimits import bad_tokens_per_address, posts_per_link

bp = Blueprint("discussed", __name__)
csrf.exempt(bp)


@dataclass
class DiscussedLink:
    participant: Participant
    question: QuestionView


def read_discussed_link(token: str, now: datetime) -> DiscussedLink:
    """The participant and question behind a 'besproken' token.

    TokenInvalid for a tampered or foreign token; TokenExpired when the
    participant is gone or "Mijn quiz" no longer works for them (the answer
    window plus MANAGE_GRACE).
    """
    session = get_session()
    participant_id, question_id = read_discussed(token, now)
    participant = answering.load_participant(session, participant_id)
    if participant is None or participant.status in answering.LINKS_CLOSED_STATUSES:
        raise TokenExpired
    view = question_view(session, question_id)
    if view is None or view.question_set_id != participant.campaign.question_set_id:
        raise TokenInvalid
    closes_at = answering.answers_close_at(participant.campaign, participant, view.total)
    if closes_at is not None and now >= closes_at + answering.MANAGE_GRACE:
        raise TokenExpired
    return DiscussedLink(participant, view)


def record_discussed(participant_id: int, question_id: int, now: datetime) -> Answer | None:
    """Mark the answer as discussed (the first moment counts); None when the
    participant has not answered the question. Commits."""
    session = get_session()
    session.execute(
        update(Answer)
        .where(
            Answer.participant_id == participant_id,
            Answer.question_id == question_id,
            Answer.discussed_at.is_(None),
        )
        .values(discussed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return answering.recorded_answer(session, participant_id, question_id)


@bp.route("/besproken/<token:token>", methods=["GET", "POST"])
@bad_tokens_per_address
@posts_per_link
def discussed(token: str) -> Response:
    now = utcnow()
    with token_pages("discussed"):
        link = read_discussed_link(token, now)
    participant, view = link.participant, link.question
    if request.method == "POST":
        answer = record_discussed(participant.id, view.id, now)
    else:
        answer = answering.recorded_answer(get_session(), participant.id, view.id)
    body = render_template(
        "discussed/discussed.html",
        q=view,
        answer=answer,
        campaign=participant.campaign,
        just_recorded=request.method == "POST",
        answer_url=None if answer else _answer_url(participant.id, view.id),
        manage_token=manage_token(participant.id),
    )
    # No answer to attach the discussion to: the POST changed nothing.
    return private_page(body, 409 if request.method == "POST" and answer is None else 200)


def _answer_url(participant_id: int, question_id: int) -> str:
    from flask import url_for

    return url_for("answers.answer", token=answer_token(participant_id, question_id))
