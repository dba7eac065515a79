"""My data, from "Mijn quiz": see or download everything stored, or erase it.

Behind the same signed "Mijn quiz" link as the progress page; the token is
the credential, so (like the answer pages) no cookie or CSRF token is needed
and a forged POST would need the token itself. Erasing is irreversible, so
the GET only shows what will happen and the POST must carry the ticked
"yes, erase" box: a scanner that opens the link or presses the button
without it erases nothing. A link that no longer works gets a page that
says what is true: erased already (a second press, the back button), or
nothing erased now.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, render_template, request
from werkzeug.wrappers import Response

from quiz import names
from quiz.answering import answers as answering
from quiz.answering.views import private_page
from quiz.db import get_session, utcnow
from quiz.extensions import csrf
from quiz.links import TokenExpired, TokenInvalid, unsubscribe_token
from quiz.models import SECTORS
from quiz.ratelimits import bad_tokens_per_address, posts_per_link
from quiz.rights import gdpr as rights
from quiz.rights.account import participant_from_link

bp = Blueprint("mydata", __name__)
csrf.exempt(bp)


@bp.get("/mijn-quiz/<token:token>/gegevens")
@bad_tokens_per_address
def overview(token: str) -> Response:
    """Everything stored about me, readable, with the download and erase links."""
    participant = participant_from_link(token, utcnow())
    data = rights.stored_data(get_session(), participant)
    body = render_template(
        "rights/my_data.html",
        data=data,
        tz=participant.campaign.timezone,
        sectors=SECTORS,
        names=names,
        token=token,
        unsubscribe_token=unsubscribe_token(participant.id)
        if participant.status in rights.CAN_UNSUBSCRIBE
        else None,
    )
    return private_page(body)


@bp.get("/mijn-quiz/<token:token>/gegevens.json")
@bad_tokens_per_address
def export_json(token: str) -> Response:
    participant = participant_from_link(token, utcnow())
    data = rights.export_data(get_session(), participant)
    response = private_page(json.dumps(data, ensure_ascii=False, indent=2))
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = 'attachment; filename="mijn-meldcodequiz-gegevens.json"'
    return response


@bp.route("/mijn-quiz/<token:token>/wissen", methods=["GET", "POST"])
@bad_tokens_per_address
@posts_per_link
def erase(token: str) -> Response:
    # Not "… of je gegevens zijn gewist" after pressing "Wis": what is true.
    try:
        participant = answering.read_manage_link(get_session(), token, utcnow())
    except answering.ParticipantErased:  # a second press, the back button
        abort(410, description="erased_erase")
    except TokenExpired:
        abort(410, description="expired_erase")
    except TokenInvalid:
        abort(400, description="invalid_manage")
    error = None
    if request.method == "POST":
        if request.form.get("bevestig") == "ja":
            participant_id = participant.id
            rights.erase(get_session(), participant, utcnow())
            # No address in the log: the id is enough to find the row.
            current_app.logger.info("participant %s erased their data", participant_id)
            return private_page(render_template("rights/erased.html", campaign=participant.campaign))
        error = "Zet een vinkje als je zeker weet dat je je gegevens wilt wissen."
    body = render_template("rights/erase.html", token=token, error=error, campaign=participant.campaign)
    return private_page(body, 422 if error else 200)
