"""My data, from "Mijn quiz": see or download everything stored, or erase it.

Behind the same signed "Mijn quiz" link as the progress page; the token is
the credential, so (like the answer pages) no cookie or CSRF token is needed
and a forged POST would need the token itself. Erasing is irreversible, so
the GET only shows what will happen and the POST must carry the ticked
"yes, erase" box: a scanner that opens the link or presses the button
without it erases nothing.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, render_template, request
from werkzeug.wrappers import Response

from quiz import rights
from quiz.db import get_session, utcnow
from quiz.extensions import csrf
from quiz.limits import bad_tokens_per_address, token_post_per_link
from quiz.links import unsubscribe_token
from quiz.models import SECTORS
from quiz.web.account import participant_from_link
from quiz.web.answers import private_page

bp = Blueprint("mydata", __name__)
csrf.exempt(bp)


@bp.get("/mijn-quiz/<token>/gegevens")
@bad_tokens_per_address
def overview(token: str) -> Response:
    """Everything stored about me, readable, with the download and erase links."""
    participant = participant_from_link(token, utcnow())
    data = rights.export_data(get_session(), participant)
    body = render_template(
        "rights/my_data.html",
        data=data,
        sectors=SECTORS,
        token=token,
        unsubscribe_token=unsubscribe_token(participant.id)
        if participant.status in rights.RECEIVING
        else None,
    )
    return private_page(body)


@bp.get("/mijn-quiz/<token>/gegevens.json")
@bad_tokens_per_address
def export_json(token: str) -> Response:
    participant = participant_from_link(token, utcnow())
    data = rights.export_data(get_session(), participant)
    response = private_page(json.dumps(data, ensure_ascii=False, indent=2))
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = 'attachment; filename="mijn-meldcodequiz-gegevens.json"'
    return response


@bp.route("/mijn-quiz/<token>/wissen", methods=["GET", "POST"])
@bad_tokens_per_address
@token_post_per_link
def erase(token: str) -> Response:
    participant = participant_from_link(token, utcnow())
    error = None
    if request.method == "POST":
        if request.form.get("bevestig") == "ja":
            participant_id = participant.id
            rights.erase(get_session(), participant, utcnow())
            # No address in the log: the id is enough to find the row.
            current_app.logger.info("participant %s erased their data", participant_id)
            return private_page(render_template("rights/erased.html"))
        error = "Zet een vinkje als je zeker weet dat je je gegevens wilt wissen."
    body = render_template("rights/erase.html", token=token, error=error)
    return private_page(body, 422 if error else 200)
