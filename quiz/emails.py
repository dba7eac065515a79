"""What goes into each kind of email: one context builder per delivery kind.

The outbox calls `context_for(delivery, now)` and renders the templates of
`email_templates/<kind>.*` with the result.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app

from quiz.models import Delivery
from quiz.tokens import make_token
from quiz.urls import external_url

ContextBuilder = Callable[[Delivery, datetime], dict[str, Any]]
_BUILDERS: dict[str, ContextBuilder] = {}


def builder(kind: str) -> Callable[[ContextBuilder], ContextBuilder]:
    def register(fn: ContextBuilder) -> ContextBuilder:
        _BUILDERS[kind] = fn
        return fn

    return register


def base_context(delivery: Delivery) -> dict[str, Any]:
    """What every email has: who it is for, the campaign, the footer's links."""
    participant = delivery.participant
    campaign = participant.campaign
    return {
        "participant": participant,
        "greeting_name": participant.name or "deelnemer",
        "campaign": campaign,
        "sender_name": current_app.config["QUIZ_ORGANISER_NAME"],
        "privacy_url": external_url("signup.privacy"),
        "signup_url": external_url("signup.form"),
        "headers": {},
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
    token = make_token("confirm", delivery.participant_id)
    ctx["confirm_url"] = external_url("signup.confirm", token=token)
    ctx["valid_days"] = current_app.config["QUIZ_TOKEN_MAX_AGE_DAYS"]
    return ctx


@builder("already_registered")
def already_registered_context(delivery: Delivery, now: datetime) -> dict[str, Any]:
    return base_context(delivery)
