"""Unsubscribe: the link in every quiz email and RFC 8058 one-click.

GET (and HEAD) only shows a page with one button: mail security scanners
open every link in an email, so opening a link must never unsubscribe. POST
unsubscribes; it is also what a mail program sends for the one-click button
(`List-Unsubscribe-Post: List-Unsubscribe=One-Click`, RFC 8058), without a
cookie or a CSRF token, so this blueprint is exempt from CSRFProtect: the
signed token in the address is the credential. Idempotent: a second POST
shows the same result.

Every page says what is true for this link's participant, and only that:
already unsubscribed, erased, a bounced address (which can still be
unsubscribed), or the button. A link older than the links' backstop, or
whose participant row is gone, changes nothing and gets a 410 page saying
so, never "Je bent afgemeld"; a damaged or foreign one the 400 page.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from quiz.answering.views import private_page
from quiz.db import get_session, utcnow
from quiz.errors import token_pages
from quiz.extensions import csrf
from quiz.links import manage_token, read_unsubscribe, unsubscribe_token
from quiz.models import Participant
from quiz.ratelimits import bad_tokens_per_address, posts_per_link
from quiz.rights import gdpr as rights
from quiz.urls import external_url

bp = Blueprint("unsubscribe", __name__)
csrf.exempt(bp)


def unsubscribe_url(participant_id: int) -> str:
    """The absolute https link for emails (List-Unsubscribe and the footer)."""
    return external_url("unsubscribe.unsubscribe", token=unsubscribe_token(participant_id))


def _participant(token: str) -> Participant:
    """The participant behind a genuine token. The 400 page for a damaged or
    foreign token; the 410 page for one older than the token's lifetime (it
    proves nothing any more) or whose participant row was removed (nothing
    left to unsubscribe)."""
    with token_pages("unsubscribe"):
        participant_id = read_unsubscribe(token, utcnow())
    participant = get_session().get(Participant, participant_id)
    if participant is None:
        abort(410, description="gone_unsubscribe")
    return participant


@bp.route("/afmelden/<token:token>", methods=["GET", "POST"])
@bad_tokens_per_address
@posts_per_link
def unsubscribe(token: str) -> Response:
    participant = _participant(token)
    if request.method == "POST":
        rights.unsubscribe(get_session(), participant, utcnow())
        manage = manage_token(participant.id) if participant.status == "unsubscribed" else None
        body = render_template("rights/unsubscribed.html", participant=participant, manage_token=manage)
        return private_page(body)
    can_unsubscribe = participant.status in rights.CAN_UNSUBSCRIBE
    body = render_template(
        "rights/unsubscribe.html", participant=participant, can_unsubscribe=can_unsubscribe
    )
    return private_page(body)
