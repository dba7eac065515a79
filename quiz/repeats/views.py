"""Repeat questions on the web: the answer link of a repeat email (GET shows
the confirm page, POST records and shows the feedback with the earlier
choice next to the new one), and "stop de herhaalvragen" (GET shows one
button, POST stops them).

Scanner-safe like the week's answer links (quiz.answering.views): a GET or
HEAD never records an answer or stops anything, and a POST from a form that
a scanner sweep was served asks for one more confirmation. The signed token
is the credential, so these pages need no cookie or CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from quiz.answering import answers as answering
from quiz.answering.views import chosen_option, posted_hit, private_page, submitted_form
from quiz.db import get_session, utcnow
from quiz.errors import token_pages
from quiz.extensions import csrf
from quiz.links import manage_token, read_repeats_stop
from quiz.models import Participant
from quiz.ratelimits import bad_tokens_per_address, not_counted, posts_per_link
from quiz.repeats import answers as repeats
from quiz.urls import external_url

bp = Blueprint("repeats", __name__)
csrf.exempt(bp)


def _link(session: Session, token: str, hit_id: int | None = None) -> repeats.RepeatLink:
    with token_pages("repeat"):
        return repeats.read_repeat_link(session, token, utcnow(), hit_id)


def _question_page(
    link: repeats.RepeatLink,
    selected: int | None,
    *,
    hit_id: int | None = None,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    body = render_template(
        "repeats/question.html",
        q=link.question,
        round=link.round,
        selected=selected,
        hit_id=hit_id,
        notice=notice,
        error=error,
    )
    return private_page(body, status)


def _feedback_page(link: repeats.RepeatLink, *, just_answered: bool, tapped: int | None) -> Response:
    answer = link.answer
    assert answer is not None
    view = link.question
    chosen = view.option(answer.option_id)
    tapped_view = view.option(tapped) if tapped and tapped != answer.option_id else None
    body = render_template(
        "repeats/feedback.html",
        q=view,
        round=link.round,
        chosen=chosen,
        earlier=link.earlier,
        answered_at=answer.answered_at,
        just_answered=just_answered,
        tapped=tapped_view,
        campaign=link.campaign,
        manage_url=external_url("account.my_quiz", token=manage_token(link.participant_id)),
    )
    return private_page(body)


@bp.route("/h/<token:token>", methods=["GET", "POST"])
@bad_tokens_per_address
@posts_per_link
def answer(token: str) -> Response:
    session = get_session()
    if request.method == "POST":
        return _confirm(session, token)
    link = _link(session, token)
    hit_id = None
    if request.method == "GET" and link.option_id is not None:
        hit = answering.log_link_hit(
            session,
            participant_id=link.participant_id,
            question=link.question,
            option_id=link.option_id,
            method="GET",
            now=utcnow(),
            client=answering.client_hash(current_app.config["SECRET_KEY"], request.remote_addr),
            user_agent=request.user_agent.string,
            kind="repeat",
        )
        hit_id = hit.id
    if link.answer is not None:
        return _feedback_page(link, just_answered=False, tapped=link.option_id)
    return _question_page(link, link.option_id, hit_id=hit_id)


def _confirm(session: Session, token: str) -> Response:
    form = submitted_form()
    link = _link(session, token, posted_hit(form))
    option_id = chosen_option(link.question, form)
    if option_id is None:
        return _question_page(link, None, error="Kies eerst een antwoord.", status=422)
    if link.served_to_scanner:
        return _question_page(link, option_id, notice="Voor de zekerheid: bevestig je antwoord nog een keer.")
    created = False
    if link.answer is None:
        not_counted()  # the POST that records the answer, once per link
        link.answer, created = repeats.record_repeat_answer(
            session, link.participant_id, link.question.id, link.round, option_id, utcnow()
        )
    return _feedback_page(link, just_answered=created, tapped=option_id)


# --- stop the repeats ------------------------------------------------------------


def _participant(token: str) -> Participant:
    with token_pages("repeats_stop"):
        participant_id = read_repeats_stop(token, utcnow())
    participant = get_session().get(Participant, participant_id)
    if participant is None:
        abort(410, description="expired_repeats_stop")
    return participant


@bp.route("/herhaalvragen-stoppen/<token:token>", methods=["GET", "POST"])
@bad_tokens_per_address
@posts_per_link
def stop(token: str) -> Response:
    """One button; the POST stops the repeats and nothing else."""
    participant = _participant(token)
    if request.method == "POST" and participant.status != "erased":
        repeats.stop_repeats(get_session(), participant, utcnow())
    body = render_template("repeats/stop.html", participant=participant, done=request.method == "POST")
    return private_page(body)
