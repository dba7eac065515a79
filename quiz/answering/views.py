"""Answer links from the question email: confirm page (GET) and feedback (POST).

Mail security scanners (Safe Links, Mimecast, Proofpoint) open every link in
an email, run the page's scripts and may press buttons. So:
- GET shows the question with the tapped option pre-selected and one button;
  it records a LinkHit (for sweep detection), never an answer.
- HEAD records nothing at all.
- Only a POST records the answer. When the GET that served the form turned
  out to be part of a scanner sweep (all options fetched within seconds), the
  POST records nothing and asks for one more confirmation.
The signed token in the address is the only credential, so these pages need
no cookie and no CSRF token: a forged POST would need the token itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from quiz.answering import answers as answering
from quiz.answering.stats import Distribution, recent_distribution
from quiz.db import get_session, utcnow
from quiz.errors import token_pages
from quiz.extensions import csrf
from quiz.links import discussed_token, manage_token, read_preview
from quiz.questionsets.view import QuestionView, question_view
from quiz.ratelimits import bad_tokens_per_address, not_counted, posts_per_link
from quiz.urls import external_url

bp = Blueprint("answers", __name__)
csrf.exempt(bp)

PRIVATE_HEADERS = (("Cache-Control", "no-store"), ("X-Robots-Tag", "noindex"))


def private_page(body: str, status: int = 200) -> Response:
    """Pages behind a personal link: never cached, never indexed. (The token
    in the address is not passed on to the sources we link to: every page
    has Referrer-Policy: same-origin, see quiz.security.)"""
    return current_app.response_class(body, status, PRIVATE_HEADERS)


def _link(session: Session, token: str, hit_id: int | None = None) -> answering.AnswerLink:
    with token_pages("answer"):
        return answering.read_answer_link(session, token, utcnow(), hit_id)


# Our answer form has two fields (option, hit); a body with more is not ours.
MAX_FORM_FIELDS = 20


def submitted_form() -> Mapping[str, str]:
    """The submitted form; empty when it holds more fields than any of ours
    could (the page then asks to choose an answer)."""
    form = request.form
    if sum(len(values) for values in form.listvalues()) > MAX_FORM_FIELDS:
        return {}
    return form


def posted_hit(form: Mapping[str, str]) -> int | None:
    """The LinkHit named by the submitted form (see _question_page), if well-formed."""
    raw = form.get("hit", "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def chosen_option(view: QuestionView, form: Mapping[str, str]) -> int | None:
    raw = form.get("option", "")
    option_id = int(raw) if raw.isdigit() and len(raw) < 12 else None
    return option_id if option_id is not None and view.option(option_id) is not None else None


def _question_page(view: QuestionView, selected: int | None, *, hit_id: int | None = None,
                   notice: str | None = None, error: str | None = None, status: int = 200,
                   preview: bool = False) -> Response:  # fmt: skip
    body = render_template(
        "answers/question.html",
        q=view,
        selected=selected,
        hit_id=hit_id,
        notice=notice,
        error=error,
        preview=preview,
    )
    return private_page(body, status)


def _feedback_page(
    session: Session,
    link: answering.AnswerLink,
    answer: answering.RecordedAnswer,
    *,
    just_answered: bool,
    tapped: int | None,
    distribution: Distribution,
) -> Response:
    """The feedback page for the answer that counts."""
    view, participant = link.question, link.participant
    # Someone who tapped another option than the one that counts is told so.
    tapped_view = view.option(tapped) if tapped and tapped != answer.option_id else None
    open_views = (question_view(session, qid) for qid in link.open_question_ids)
    open_questions = sorted((v for v in open_views if v is not None), key=lambda v: v.position)
    manage_url = external_url("account.my_quiz", token=manage_token(participant.id))
    body = render_template(
        "answers/feedback.html",
        q=view,
        chosen=view.option(answer.option_id),
        answered_at=answer.answered_at,
        just_answered=just_answered,
        tapped=tapped_view,
        distribution=distribution,
        # Links to the open questions go through "Mijn quiz" (one token for
        # all of them), which signs an answer link only for the one opened.
        unanswered=[{"q": q, "url": f"{manage_url}/vraag/{q.position}"} for q in open_questions],
        manage_url=manage_url,
        campaign=participant.campaign,
        preview=False,
        # "Besproken in ons team" posts straight from here: a person is on this page.
        discussed_token=discussed_token(participant.id, view.id),
        discussed_at=answer.discussed_at,
    )
    return private_page(body)


@bp.route("/a/<token:token>", methods=["GET", "POST"])
@bad_tokens_per_address
@posts_per_link  # every POST but the one that records the answer (_confirm)
def answer(token: str) -> Response:
    session = get_session()
    if request.method == "POST":
        return _confirm(session, token)
    link = _link(session, token)
    view = link.question
    hit_id = None
    if request.method == "GET" and link.option_id is not None:
        # HEAD (a scanner's or a link preview's) changes nothing, not even the log.
        hit = answering.log_link_hit(
            session,
            participant_id=link.participant.id,
            question=view,
            option_id=link.option_id,
            method="GET",
            now=utcnow(),
            client=answering.client_hash(current_app.config["SECRET_KEY"], request.remote_addr),
            user_agent=request.user_agent.string,
        )
        hit_id = hit.id
    if link.answer is not None:
        distribution = recent_distribution(session, link.participant.campaign_id, view.id)
        return _feedback_page(
            session, link, link.answer, just_answered=False, tapped=link.option_id, distribution=distribution
        )
    return _question_page(view, link.option_id, hit_id=hit_id)


def _confirm(session: Session, token: str) -> Response:
    """Confirm ("Bevestig mijn antwoord"): record the answer (the first one
    counts) and show the feedback."""
    form = submitted_form()
    link = _link(session, token, posted_hit(form))
    view = link.question
    option_id = chosen_option(view, form)
    if option_id is None:
        return _question_page(view, None, error="Kies eerst een antwoord.", status=422)
    if link.served_to_scanner:
        notice = "Voor de zekerheid: bevestig je antwoord nog een keer."
        return _question_page(view, option_id, notice=notice)
    # Counted before the INSERT: with this answer added when it is the one that counts.
    distribution = recent_distribution(session, link.participant.campaign_id, view.id)
    if link.answer is not None:  # answered before: that answer counts
        answer, created = link.answer, False
    else:
        not_counted()  # the POST that records the answer, once per link
        answer, created = answering.record_answer(session, link.participant.id, view.id, option_id, utcnow())
        if created:
            distribution = distribution.with_answer(option_id)
    return _feedback_page(
        session, link, answer, just_answered=created, tapped=option_id, distribution=distribution
    )


# --- preview: the same pages for organisers, recording nothing -------------------


@bp.route("/voorbeeld/<token:token>", methods=["GET", "POST"])
def preview(token: str) -> Response:
    """What a participant sees, for checking a question before it goes out:
    no LinkHit, no Answer, no other participants' figures."""
    with token_pages("preview"):
        question_id, option_id = read_preview(token, utcnow())
    view = question_view(get_session(), question_id)
    if view is None:
        abort(410, description="expired_preview")
    selected = option_id if option_id is not None and view.option(option_id) is not None else None
    if request.method == "POST":
        option_id = chosen_option(view, submitted_form())
        if option_id is None:
            return _question_page(view, None, error="Kies eerst een antwoord.", status=422, preview=True)
        body = render_template(
            "answers/feedback.html",
            q=view,
            chosen=view.option(option_id),
            answered_at=None,
            just_answered=True,
            tapped=None,
            distribution=None,
            unanswered=[],
            manage_url=None,
            campaign=None,
            preview=True,
        )
        return private_page(body)
    return _question_page(view, selected, preview=True)
