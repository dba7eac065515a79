"""What goes into each kind of email: one context builder per delivery kind.

The outbox calls `context_for(delivery, now)` and renders the templates of
`email_templates/<kind>.*` with the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from quiz.delivery.mail_templates import RenderedEmail, render_email
from quiz.links import answer_token, confirm_token, manage_token, preview_token, unsubscribe_token
from quiz.models import Answer, Delivery, Question
from quiz.questionsets.view import question_view
from quiz.urls import external_url

ContextBuilder = Callable[[Delivery, datetime], dict[str, Any]]
_BUILDERS: dict[str, ContextBuilder] = {}


def register_builders(builders: Mapping[str, ContextBuilder]) -> None:
    """Add the email contents of later stages (create_app registers the
    follow-up and summary emails). Registering a kind again replaces it."""
    _BUILDERS.update(builders)


def builder(kind: str) -> Callable[[ContextBuilder], ContextBuilder]:
    def register(fn: ContextBuilder) -> ContextBuilder:
        _BUILDERS[kind] = fn
        return fn

    return register


# The confirmation goes to an address that has not opted in yet: there is
# nothing to unsubscribe from (ignoring it is enough), and a one-click
# button on it would only invite mail programs to act on strangers' behalf.
NO_UNSUBSCRIBE = frozenset({"confirm"})


def base_context(delivery: Delivery) -> dict[str, Any]:
    """What every email has: who it is for, the campaign, the footer's links.

    Every kind except `confirm` gets an unsubscribe link, in the footer
    (`unsubscribe_url`) and as RFC 8058 one-click headers, so a new kind has
    them without doing anything. The headers go through the email package
    in mailer.build_message, never pasted into the message by hand.
    """
    app = current_app
    participant = delivery.participant
    campaign = participant.campaign
    headers: dict[str, str] = {}
    unsubscribe = None
    if delivery.kind not in NO_UNSUBSCRIBE:
        token = unsubscribe_token(delivery.participant_id)
        unsubscribe = external_url("unsubscribe.unsubscribe", token=token)
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return {
        "participant": participant,
        "greeting_name": participant.name or "deelnemer",
        "campaign": campaign,
        "sender_name": app.config["QUIZ_ORGANISATION_NAME"],
        "privacy_url": external_url("signup.privacy"),
        "signup_url": external_url("signup.form"),
        "unsubscribe_url": unsubscribe,
        "headers": headers,
    }


def context_for(delivery: Delivery, now: datetime) -> dict[str, Any]:
    try:
        build = _BUILDERS[delivery.kind]
    except KeyError:
        raise LookupError(f"no email is defined for deliveries of kind {delivery.kind!r}") from None
    return build(delivery, now)


@builder("confirm")
def confirm_context(delivery: Delivery, now: datetime) -> dict[str, Any]:
    ctx = base_context(delivery)
    token = confirm_token(delivery.participant_id)
    ctx["confirm_url"] = external_url("signup.confirm", token=token)
    ctx["valid_days"] = current_app.config["QUIZ_TOKEN_MAX_AGE_DAYS"]
    return ctx


@builder("already_registered")
def already_registered_context(delivery: Delivery, now: datetime) -> dict[str, Any]:
    return base_context(delivery)


# --- question: one question a day, each option a signed answer link -----------


def _question_options(view: Any, url_for_option: Callable[[int], str]) -> list[dict[str, Any]]:
    return [{"label": o.label, "text": o.text, "url": url_for_option(o.id)} for o in view.options]


@builder("question")
def question_context(delivery: Delivery, now: datetime) -> dict[str, Any]:
    """Day k of N: the question and one answer link per option.

    The question comes from the per-process question cache (one query and one
    Markdown render per question for the whole drain, not per message); per
    message only the tokens are signed.
    """
    from sqlalchemy.orm import object_session

    if delivery.question_id is None:
        raise LookupError(f"question delivery {delivery.id} has no question")
    view = question_view(object_session(delivery), delivery.question_id)
    if view is None:
        raise LookupError(f"question {delivery.question_id} does not exist")
    pid = delivery.participant_id
    ctx = base_context(delivery)
    ctx["q"] = view
    ctx["options"] = _question_options(
        view, lambda oid: external_url("answers.answer", token=answer_token(pid, view.id, oid))
    )
    ctx["manage_url"] = external_url("account.my_quiz", token=manage_token(pid))
    # "Nog niet beantwoord": earlier open questions, inside this email (issue 6).
    ctx["reminders"] = reminders(object_session(delivery), delivery, ctx["manage_url"])
    return ctx


def render_question_preview(question: Question, now: datetime) -> RenderedEmail:
    """The question email as a participant would get it, with links to the
    preview pages, which show the confirm and feedback pages but record
    nothing. For the question-set CLI and the organisers' editor."""
    from types import SimpleNamespace

    from quiz.questionsets.view import build_view

    question_set = question.question_set
    total = len(question_set.questions) if question_set is not None else question.position
    view = build_view(question, total)

    def url(option_id: int) -> str:
        if question.id is None:  # not saved yet: nothing to link to
            return "#"
        return external_url("answers.preview", token=preview_token(question.id, option_id))

    ctx = {
        "greeting_name": "deelnemer",
        "campaign": SimpleNamespace(name=question_set.title if question_set else "MeldcodeQuiz"),
        "sender_name": current_app.config["QUIZ_ORGANISATION_NAME"],
        "privacy_url": external_url("signup.privacy"),
        "signup_url": external_url("signup.form"),
        "q": view,
        "options": _question_options(view, url),
        "manage_url": None,
    }
    return render_email("question", ctx)


# --- reminder block in the question email ------------------------------------------

# Built once (the question email is the hot path of the morning drain): earlier
# questions that went out to this participant and have no answer.
_UNANSWERED_EARLIER = (
    select(Delivery.question_id, Delivery.day)
    .where(
        Delivery.participant_id == bindparam("pid"),
        Delivery.kind == "question",
        Delivery.status == "sent",
        Delivery.day < bindparam("day"),
        Delivery.question_id.is_not(None),
        ~exists().where(
            Answer.participant_id == bindparam("pid"), Answer.question_id == Delivery.question_id
        ),
    )
    .order_by(Delivery.day)
)


def _wants_reminders(delivery: Delivery) -> bool:
    return delivery.day > 1 and delivery.participant.campaign.reminders_enabled


# Where prefetch_reminders leaves a batch's open questions: delivery id ->
# [(question_id, day)], in the session so that it lives as long as the batch.
_PREFETCHED = "quiz_open_earlier"


def prefetch_reminders(session: Session, deliveries: Sequence[Delivery]) -> None:
    """The open earlier questions of a whole batch of question deliveries in
    one query, for `reminders` (the sender calls this per claimed batch; on
    days 2–5 one query per message would be the drain's largest cost)."""
    wanted = [d for d in deliveries if d.kind == "question" and _wants_reminders(d)]
    found: dict[int, list[tuple[int, int]]] = {d.id: [] for d in wanted}
    session.info[_PREFETCHED] = found
    if not wanted:
        return
    latest = {}
    for d in wanted:
        latest[d.participant_id] = max(latest.get(d.participant_id, 0), d.day)
    rows = session.execute(
        select(Delivery.participant_id, Delivery.question_id, Delivery.day)
        .where(
            Delivery.participant_id.in_(list(latest)),
            Delivery.kind == "question",
            Delivery.status == "sent",
            Delivery.question_id.is_not(None),
            ~exists().where(
                Answer.participant_id == Delivery.participant_id, Answer.question_id == Delivery.question_id
            ),
        )
        .order_by(Delivery.participant_id, Delivery.day)
    ).all()
    by_participant: dict[int, list[tuple[int, int]]] = {}
    for pid, question_id, day in rows:
        by_participant.setdefault(pid, []).append((question_id, day))
    for d in wanted:
        found[d.id] = [(q, day) for q, day in by_participant.get(d.participant_id, []) if day < d.day]


def reminders(session: Session, delivery: Delivery, manage_url: str) -> list[dict[str, Any]]:
    """ "Nog niet beantwoord": the earlier questions of this participant that
    went out and are still open, each with its link (through "Mijn quiz").
    Empty on day 1 and when the campaign switched reminders off. From the
    batch's prefetch when there is one, else one query."""
    if not _wants_reminders(delivery):
        return []
    prefetched = session.info.get(_PREFETCHED, {}).get(delivery.id)
    if prefetched is None:
        prefetched = session.execute(
            _UNANSWERED_EARLIER, {"pid": delivery.participant_id, "day": delivery.day}
        ).all()
    out = []
    for question_id, day in prefetched:
        view = question_view(session, question_id)
        if view is not None:
            out.append({"q": view, "url": f"{manage_url}/vraag/{day}"})
    return out
