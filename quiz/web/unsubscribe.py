"""Unsubscribe: the link in every quiz email and RFC 8058 one-click.

GET (and HEAD) only shows a page with one button: mail security scanners
open every link in an email, so opening a link must never unsubscribe. POST
unsubscribes; it is also what a mail program sends for the one-click button
(`List-Unsubscribe-Post: List-Unsubscribe=One-Click`, RFC 8058), without a
cookie or a CSRF token, so this blueprint is exempt from CSRFProtect: the
signed token in the address is the credential. Idempotent: a second POST,
or one for a participant who was since erased, shows the same result.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from quiz import rights
from quiz.db import get_session, utcnow
from quiz.extensions import csrf
from quiz.limits import bad_tokens_per_address, token_post_per_link
from quiz.links import TokenExpired, TokenInvalid, manage_token, read_unsubscribe, unsubscribe_token
from quiz.models import Participant
from quiz.urls import external_url
from quiz.web.answers import private_page

bp = Blueprint("unsubscribe", __name__)
csrf.exempt(bp)


def unsubscribe_url(participant_id: int) -> str:
    """The absolute https link for emails (List-Unsubscribe and the footer)."""
    return external_url("unsubscribe.unsubscribe", token=unsubscribe_token(participant_id))


def _participant(token: str) -> Participant | None:
    """The participant behind a genuine token, or None when there is nothing
    left to unsubscribe: the row was removed, or the link is older than the
    token backstop (its data was erased by retention long before)."""
    try:
        participant_id = read_unsubscribe(token, utcnow())
    except TokenExpired:
        return None
    except TokenInvalid:
        abort(400, description="invalid_unsubscribe")
    return get_session().get(Participant, participant_id)


@bp.route("/afmelden/<token>", methods=["GET", "POST"])
@bad_tokens_per_address
@token_post_per_link
def unsubscribe(token: str) -> Response:
    participant = _participant(token)
    receiving = participant is not None and participant.status in rights.RECEIVING
    if request.method == "POST":
        if participant is not None:
            rights.unsubscribe(get_session(), participant, utcnow())
        manage = None
        if participant is not None and participant.status == "unsubscribed":
            manage = manage_token(participant.id)
        body = render_template("rights/unsubscribed.html", participant=participant, manage_token=manage)
        return private_page(body)
    body = render_template("rights/unsubscribe.html", participant=participant, receiving=receiving)
    return private_page(body)
