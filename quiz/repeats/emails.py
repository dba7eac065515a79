"""What goes into a repeat email: the question again, one scanner-safe answer
link per option (with the round), and the one-click link that stops the
repeats. Registered with `quiz.delivery.emails` by create_app (BUILDERS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import UnmappedInstanceError

from quiz.db import get_session
from quiz.delivery.emails import base_context
from quiz.links import manage_token, repeat_token, repeats_stop_token
from quiz.models import Delivery
from quiz.questionsets.view import question_view
from quiz.repeats.rules import split_day
from quiz.urls import external_url


def stop_url(participant_id: int) -> str:
    """The "stop de herhaalvragen" link: a page with one button (GET), the POST stops them."""
    return external_url("repeats.stop", token=repeats_stop_token(participant_id))


def _session(delivery: Any) -> Session:
    """The delivery's own session; the request's one for the stand-in
    delivery of the organisers' "send me a test" (no database row)."""
    try:
        found = object_session(delivery)
    except UnmappedInstanceError:
        found = None
    return found or get_session()


def repeat_context(delivery: Delivery, now: datetime) -> dict[str, Any]:
    """Round r of question k: the question and one repeat answer link per option."""
    if delivery.question_id is None:
        raise LookupError(f"repeat delivery {delivery.id} has no question")
    view = question_view(_session(delivery), delivery.question_id)
    if view is None:
        raise LookupError(f"question {delivery.question_id} does not exist")
    round_, _ = split_day(delivery.day)
    pid = delivery.participant_id
    ctx = base_context(delivery)
    ctx.update(
        q=view,
        round=round_,
        options=[
            {
                "label": o.label,
                "text": o.text,
                "url": external_url("repeats.answer", token=repeat_token(pid, view.id, round_, o.id)),
            }
            for o in view.options
        ],
        stop_url=stop_url(pid),
        manage_url=external_url("account.my_quiz", token=manage_token(pid)),
    )
    return ctx


BUILDERS = {"repeat": repeat_context}
