"""Which campaign `/` serves, and a campaign's own signup link and QR code (issue 19).

The organiser chooses the public campaign; every admin page says which one it
is (or that `/` lists the open campaigns). Each campaign's page shows its own
signup link with a QR code (SVG, segno) to put on posters and slides.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from quiz.admin.blueprint import bp
from quiz.admin.campaigns import get_campaign
from quiz.db import get_session
from quiz.models import Campaign
from quiz.signup.public import make_public, public_campaign, qr_svg, signup_url


@bp.app_template_global()
def campaign_signup_url(campaign: Campaign) -> str:
    """The campaign's own signup link, absolute, for templates."""
    return signup_url(campaign)


@bp.context_processor
def _public_campaign() -> dict[str, Campaign | None]:
    # One indexed lookup per admin page, so that the header always says it.
    return {"public_campaign": public_campaign(get_session())}


@bp.route("/campagnes/<int:campaign_id>/publiek", methods=["POST"])
def campaign_public(campaign_id: int) -> Response:
    """Make this campaign the one `/` serves ("make"), or no campaign ("clear")."""
    campaign = get_campaign(campaign_id)
    session = get_session()
    action = request.form.get("action")
    if action not in ("make", "clear"):
        abort(400)
    try:
        make_public(session, campaign if action == "make" else None)
    except IntegrityError:
        flash("Tegelijk koos iemand anders een publieke campagne. Er is niets veranderd; "
              "probeer het opnieuw.", "error")  # fmt: skip
    else:
        if action == "make":
            flash(f"De voorpagina toont nu het aanmeldformulier van {campaign.name}.", "success")
        else:
            flash("Geen publieke campagne meer: de voorpagina toont de campagnes waarvoor aanmelden open is.",
                  "success")  # fmt: skip
    if request.form.get("back") == "list":
        return redirect(url_for("admin.campaigns"), code=303)
    return redirect(url_for("admin.campaign_dashboard", campaign_id=campaign.id) + "#delen", code=303)


@bp.get("/campagnes/<int:campaign_id>/qr.svg")
def campaign_qr(campaign_id: int) -> Response:
    """The QR code of the campaign's signup link; `?download=1` saves it as a file."""
    campaign = get_campaign(campaign_id)
    response = Response(qr_svg(signup_url(campaign)), mimetype="image/svg+xml")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="qr-{campaign.slug}.svg"'
    return response
