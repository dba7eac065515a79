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

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import bindparam, exists, select
from werkzeug.wrappers import Response

from quiz import answering
from quiz.db import get_session, utcnow
from quiz.errors import token_pages
from quiz.extensions import csrf
from quiz.limits import bad_tokens_per_address, token_post_per_link
from quiz.models import Answer, Delivery, LinkHit
from quiz.question_view import QuestionView, question_view
from quiz.stats import Distribution, recent_distribution
from quiz.tokens import make_token, read_token
from quiz.urls import external_url

bp = Blueprint("answers", __name__)
csrf.exempt(bp)

PREVIEW_MAX_AGE_SECONDS = 30 * 86400


def private_page(body: str, status: int = 200) -> Response:
    """Pages behind a personal link: never cached, never indexed, and the
    token in the address is not passed on to the sources we link to."""
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _link(token: str) -> answering.AnswerLink:
    with token_pages("answer"):
        return answering.read_answer_link(get_session(), token, utcnow())


def _chosen_option(view: QuestionView) -> int | None:
    raw = request.form.get("option", "")
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


# Built once (see answering._PARTICIPANT): questions sent to a participant
# and not answered, other than the one on the page.
_UNANSWERED = (
    select(Delivery.question_id)
    .where(
        Delivery.participant_id == bindparam("pid"),
        Delivery.kind == "question",
        Delivery.status == "sent",
        Delivery.question_id.is_not(None),
        Delivery.question_id != bindparam("qid"),
        ~exists().where(
            Answer.participant_id == bindparam("pid"), Answer.question_id == Delivery.question_id
        ),
    )
    .order_by(Delivery.day)
)


def _unanswered(participant_id: int, current_question_id: int, manage_url: str) -> list[dict]:
    """Earlier questions this participant got by email and has not answered.

    Their links go through "Mijn quiz" (one token for all of them), which
    signs an answer link only for the question someone actually opens.
    """
    session = get_session()
    rows = session.scalars(_UNANSWERED, {"pid": participant_id, "qid": current_question_id})
    out = []
    for question_id in rows:
        view = question_view(session, question_id)
        if view is not None:
            out.append({"q": view, "url": f"{manage_url}/vraag/{view.position}"})
    return out


def _manage_url(participant_id: int) -> str:
    return external_url("account.my_quiz", token=answering.manage_token(participant_id))


def _feedback_page(
    link: answering.AnswerLink,
    answer: Answer,
    *,
    just_answered: bool,
    tapped: int | None,
    unanswered: list[dict],
    distribution: Distribution,
    manage_url: str,
) -> Response:
    from quiz.followup_emails import discussed_token

    view, participant = link.question, link.participant
    body = render_template(
        "answers/feedback.html",
        q=view,
        chosen=view.option(answer.option_id),
        answered_at=answer.answered_at,
        just_answered=just_answered,
        # Someone who tapped another option than the one that counts is told so.
        tapped=view.option(tapped) if tapped and tapped != answer.option_id else None,
        distribution=distribution,
        unanswered=unanswered,
        manage_url=manage_url,
        campaign=participant.campaign,
        preview=False,
        # "Besproken in ons team" posts straight from here: a person is on this page.
        discussed_token=discussed_token(participant.id, view.id),
        discussed_at=answer.discussed_at,
    )
    return private_page(body)


@bp.route("/a/<token>", methods=["GET", "POST"])
@bad_tokens_per_address
@token_post_per_link
def answer(token: str) -> Response:
    session = get_session()
    if request.method == "POST":
        answering.single_statement_transactions(session)
    link = _link(token)
    participant_id, view = link.participant.id, link.question
    if request.method == "POST":
        option_id = _chosen_option(view)
        if option_id is None:
            return _question_page(view, None, error="Kies eerst een antwoord.", status=422)
        if _served_to_a_scanner(participant_id, view.id):
            notice = "Voor de zekerheid: bevestig je antwoord nog een keer."
            return _question_page(view, option_id, notice=notice)
        # Read what the page needs before the INSERT: one transaction, fewer round trips.
        manage_url = _manage_url(participant_id)
        unanswered = _unanswered(participant_id, view.id, manage_url)
        distribution = recent_distribution(session, link.participant.campaign_id, view.id)
        answer, created = answering.record_answer(session, participant_id, view.id, option_id, utcnow())
        if created:  # counted before the INSERT, so without this answer
            distribution = distribution.with_answer(option_id)
        return _feedback_page(
            link,
            answer,
            just_answered=created,
            tapped=option_id,
            unanswered=unanswered,
            distribution=distribution,
            manage_url=manage_url,
        )

    hit_id = None
    if request.method == "GET" and link.option_id is not None:
        # HEAD (a scanner's or a link preview's) changes nothing, not even the log.
        hit = answering.log_link_hit(
            session,
            participant_id=participant_id,
            question=view,
            option_id=link.option_id,
            method="GET",
            now=utcnow(),
            client=answering.client_hash(current_app.config["SECRET_KEY"], request.remote_addr),
            user_agent=request.user_agent.string,
        )
        hit_id = hit.id
    existing = answering.recorded_answer(session, participant_id, view.id)
    if existing is not None:
        manage_url = _manage_url(participant_id)
        return _feedback_page(
            link,
            existing,
            just_answered=False,
            tapped=link.option_id,
            unanswered=_unanswered(participant_id, view.id, manage_url),
            distribution=recent_distribution(session, link.participant.campaign_id, view.id),
            manage_url=manage_url,
        )
    return _question_page(view, link.option_id, hit_id=hit_id)


def _served_to_a_scanner(participant_id: int, question_id: int) -> bool:
    """True when the form being submitted came from a GET flagged as a sweep."""
    raw = request.form.get("hit", "")
    if not raw.isdigit() or len(raw) > 18:
        return False
    hit = get_session().get(LinkHit, int(raw))
    return (
        hit is not None
        and hit.participant_id == participant_id
        and hit.question_id == question_id
        and hit.is_sweep
    )


# --- preview: the same pages for organisers, recording nothing -------------------


def preview_token(question_id: int, option_id: int | None = None) -> str:
    return make_token("preview", [question_id, option_id or 0])


@bp.route("/voorbeeld/<token>", methods=["GET", "POST"])
def preview(token: str) -> Response:
    """What a participant sees, for checking a question before it goes out:
    no LinkHit, no Answer, no other participants' figures."""
    with token_pages("preview"):
        payload = read_token("preview", token, PREVIEW_MAX_AGE_SECONDS, utcnow())
    if not (isinstance(payload, list) and len(payload) == 2 and all(type(v) is int for v in payload)):
        abort(400, description="invalid_preview")
    view = question_view(get_session(), payload[0])
    if view is None:
        abort(410, description="expired_preview")
    selected = payload[1] if view.option(payload[1]) is not None else None
    if request.method == "POST":
        option_id = _chosen_option(view)
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
