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

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from urllib.parse import parse_qsl

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy.engine import Connection
from werkzeug.wrappers import Response

from quiz import answering
from quiz.db import database, get_session, utcnow
from quiz.emails import token_url
from quiz.errors import token_pages
from quiz.extensions import csrf
from quiz.feedback_page import FeedbackPages
from quiz.limits import bad_tokens_per_address, token_post_per_link
from quiz.links import discussed_token, manage_token, read_preview
from quiz.question_view import QuestionView, question_view
from quiz.stats import Distribution, recent_distribution

bp = Blueprint("answers", __name__)
csrf.exempt(bp)

PRIVATE_HEADERS = (("Cache-Control", "no-store"), ("X-Robots-Tag", "noindex"))


def private_page(body: str, status: int = 200) -> Response:
    """Pages behind a personal link: never cached, never indexed. (The token
    in the address is not passed on to the sources we link to: every page
    has Referrer-Policy: no-referrer, see quiz.security.)"""
    return current_app.response_class(body, status, PRIVATE_HEADERS)


def _link(token: str, hit_id: int | None = None, conn: Connection | None = None) -> answering.AnswerLink:
    with token_pages("answer"):
        return answering.read_answer_link(get_session, token, utcnow(), hit_id, conn)


# Our answer forms have two fields; a body with more is not one of ours.
MAX_FORM_FIELDS = 20


def _posted() -> Mapping[str, str]:
    """The submitted form's fields, first value of each.

    Our question page posts urlencoded (the browser's default), and that body
    is parsed with the standard library (`form_fields`): werkzeug's general
    form parser (its parser objects, stream limits and MultiDict) cost more
    than a confirmation's own checks. The body is read with `get_data`, so
    the app's MAX_CONTENT_LENGTH still holds (413). Any other content type (a
    multipart post from some other client) goes through werkzeug as before.
    """
    if request.mimetype != FORM_MIMETYPE:
        return request.form
    return form_fields(request.get_data(cache=True, parse_form_data=False))


FORM_MIMETYPE = "application/x-www-form-urlencoded"


def form_fields(body: bytes) -> dict[str, str]:
    """An urlencoded body's fields, the first value of each (as MultiDict.get
    gives it). A body with more fields than any of our forms has reads as
    empty, so the page asks to choose an answer."""
    try:
        text = body.decode("utf-8", "replace")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # too many fields
        return {}
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


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


def _open_questions(link: answering.AnswerLink) -> list[QuestionView]:
    """Earlier questions this participant got by email and has not answered, by quiz day."""
    views = (question_view(get_session, qid) for qid in link.open_question_ids)
    return sorted((v for v in views if v is not None), key=lambda v: v.position)


def _manage_url(participant_id: int) -> str:
    return token_url("account.my_quiz", manage_token(participant_id))


# One per process: feedback pages rendered once per shape (quiz/feedback_page.py).
FEEDBACK_PAGES = FeedbackPages()


def _feedback_page(
    link: answering.AnswerLink,
    answer: answering.RecordedAnswer,
    *,
    just_answered: bool,
    tapped: int | None,
    distribution: Distribution,
) -> Response:
    return private_page(
        feedback_html(link, answer, just_answered=just_answered, tapped=tapped, distribution=distribution)
    )


def feedback_html(
    link: answering.AnswerLink,
    answer: answering.RecordedAnswer,
    *,
    just_answered: bool,
    tapped: int | None,
    distribution: Distribution,
    rendering: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> str:
    """The feedback page for the answer that counts. Jinja renders it inside
    `rendering()` (quiz.web.confirm_fast enters a request context there: the
    templates build links with url_for), which with the page cache below is
    once per shape."""
    view, participant = link.question, link.participant
    chosen = view.option(answer.option_id)
    # Someone who tapped another option than the one that counts is told so.
    tapped_view = view.option(tapped) if tapped and tapped != answer.option_id else None
    open_questions = _open_questions(link)

    def render(manage_url: str, discussed_token: str) -> str:
        with rendering():
            return render_template(
                "answers/feedback.html",
                q=view,
                chosen=chosen,
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
                discussed_token=discussed_token,
                discussed_at=answer.discussed_at,
            )

    manage_url = _manage_url(participant.id)
    token = discussed_token(participant.id, view.id)
    if not just_answered:  # a revisit shows when the answer was given: rendered in full
        return render(manage_url, token)
    # Everything the page shows apart from the two personal links.
    shape = (
        view.id,
        id(view),  # a reloaded question (an organiser's edit) is a new shape
        answer.option_id,
        tapped_view.id if tapped_view else None,
        distribution.total,
        tuple(sorted(distribution.counts.items())) if distribution.shown else (),
        tuple(q.id for q in open_questions),
    )
    return FEEDBACK_PAGES.render(shape, render, manage_url, token)


def record_first_answer(
    conn: Connection, link: answering.AnswerLink, option_id: int
) -> tuple[answering.RecordedAnswer, bool, Distribution]:
    """Store the link's answer (the first one counts): the answer that counts,
    whether it is this one, and the distribution to show with it."""
    view = link.question
    distribution = recent_distribution(get_session, link.participant.campaign_id, view.id)
    answer, created = answering.record_answer(conn, link.participant.id, view.id, option_id, utcnow())
    if created:  # counted before the INSERT, so without this answer
        distribution = distribution.with_answer(option_id)
    return answer, created, distribution


@bp.route("/a/<token>", methods=["GET", "POST"])
@bad_tokens_per_address
@token_post_per_link.counted_by_view  # every POST but the one that records the answer (_confirm)
def answer(token: str) -> Response:
    if request.method == "POST":
        return _confirm(token)
    session = get_session()
    link = _link(token)
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
        return _feedback_page(
            link,
            link.answer,
            just_answered=False,
            tapped=link.option_id,
            distribution=recent_distribution(session, link.participant.campaign_id, view.id),
        )
    return _question_page(view, link.option_id, hit_id=hit_id)


def _confirm(token: str) -> Response:
    """Confirm ("Bevestig mijn antwoord"): record the answer (the first one counts) and
    show the feedback. Two statements on an autocommit connection (see
    Database.autocommit_engine): reading the link and the INSERT."""
    form = _posted()
    with database().autocommit_engine.connect() as conn:
        link = _link(token, posted_hit(form), conn)
        view = link.question
        option_id = chosen_option(view, form)
        if option_id is None or link.served_to_scanner or link.answer is not None:
            token_post_per_link.count()  # not the POST that records: it counts towards the limit
        if option_id is None:
            return _question_page(view, None, error="Kies eerst een antwoord.", status=422)
        if link.served_to_scanner:
            notice = "Voor de zekerheid: bevestig je antwoord nog een keer."
            return _question_page(view, option_id, notice=notice)
        if link.answer is not None:  # answered before: that answer counts
            answer, created = link.answer, False
            distribution = recent_distribution(get_session, link.participant.campaign_id, view.id)
        else:
            answer, created, distribution = record_first_answer(conn, link, option_id)
    return _feedback_page(link, answer, just_answered=created, tapped=option_id, distribution=distribution)


# --- preview: the same pages for organisers, recording nothing -------------------


@bp.route("/voorbeeld/<token>", methods=["GET", "POST"])
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
        option_id = chosen_option(view, _posted())
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
