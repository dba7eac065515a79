"""Participants' front door: the signup form, the confirm page, the privacy statement."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

from quiz.db import get_session, utcnow
from quiz.delivery.planner import send_slot
from quiz.links import TokenExpired, TokenInvalid, is_id, read_confirm
from quiz.models import GONE, Campaign, Participant
from quiz.ratelimits import bad_tokens_per_address, posts_per_link, signup_per_address, signup_per_email
from quiz.signup import participants
from quiz.signup.closed import closed_signup
from quiz.signup.forms import ConfirmForm, SignupForm, one_line
from quiz.signup.public import open_campaigns, public_campaign

bp = Blueprint("signup", __name__)


def _clean(value: str | None) -> str | None:
    """The form's one-line text (see forms.one_line), None when empty."""
    return one_line(value) or None


def _signup_page(campaign: Campaign | None) -> str | Response:
    session = get_session()
    now = utcnow()
    if campaign is None:
        return render_template("signup/no_campaign.html"), 404
    confirm_window = timedelta(days=current_app.config["QUIZ_TOKEN_MAX_AGE_DAYS"])
    closed = closed_signup(campaign, now, confirm_window)
    if closed is not None:
        return render_template("signup/closed.html", campaign=campaign, closed=closed)
    form = SignupForm()
    if form.is_submitted() and form.is_bot:
        # The same page a person gets, so the bot learns nothing; nothing stored.
        current_app.logger.info("signup campaign=%s outcome=honeypot", campaign.slug)
        return redirect(url_for("signup.check_email"), code=303)
    if form.validate_on_submit():
        data = participants.SignupData(
            email=form.normalised_email,
            name=_clean(form.name.data),
            organisation=_clean(form.organisation.data) or "",
            sector=form.sector.data,
            role=_clean(form.role.data),
        )
        resend = timedelta(minutes=current_app.config["QUIZ_CONFIRM_RESEND_MINUTES"])
        outcome = participants.register(session, campaign, data, now, resend)
        current_app.logger.info("signup campaign=%s outcome=%s", campaign.slug, outcome)
        return redirect(url_for("signup.check_email"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("signup/form.html", form=form, campaign=campaign), status


@bp.route("/", methods=["GET", "POST"])
@signup_per_address
@signup_per_email
def form() -> str | Response | tuple[str, int]:
    """The public campaign's form; without one, the campaigns open for signup (quiz.signup.public)."""
    session = get_session()
    campaign = public_campaign(session)
    if campaign is not None:
        return _signup_page(campaign)
    campaigns = open_campaigns(session, utcnow())
    if not campaigns:
        return render_template("signup/no_campaign.html"), 404
    return render_template("signup/choose.html", campaigns=campaigns)


@bp.route("/c/<slug>", methods=["GET", "POST"])
@signup_per_address
@signup_per_email
def campaign_form(slug: str) -> str | Response:
    from sqlalchemy import select

    campaign = get_session().scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        abort(404)
    return _signup_page(campaign)


@bp.get("/aangemeld")
def check_email() -> str:
    return render_template("signup/check_email.html")


def _participant_from_token(token: str) -> Participant:
    """The participant of a confirm link, or a 400/410 page that says why the
    link does not work: the participant's state first (erased, unsubscribed,
    bounced, already confirmed, removed), the link's age only when that is
    the whole story (a signup still waiting for confirmation)."""
    expired = False
    try:
        participant_id = read_confirm(token, utcnow())
    except TokenExpired as exc:
        participant_id, expired = (exc.payload if is_id(exc.payload) else None), True
    except TokenInvalid:
        abort(400, description="invalid_confirm")
    participant = get_session().get(Participant, participant_id) if participant_id else None
    if participant is None:
        abort(410, description="expired_confirm" if expired else "gone_confirm")
    if participant.status in GONE:
        abort(410, description=f"{participant.status}_confirm")
    if expired:
        abort(410, description="expired_confirm" if participant.status == "pending" else "confirmed_confirm")
    return participant


@bp.route("/bevestig/<token:token>", methods=["GET", "POST"])
@bad_tokens_per_address
@posts_per_link
def confirm(token: str) -> str | Response:
    """GET shows one button; only the POST confirms.

    Mail security scanners open every link in an email (and some run the
    page's scripts), so a GET must never change anything.
    """
    participant = _participant_from_token(token)
    form = ConfirmForm()
    if participant.status == "pending" and form.validate_on_submit():
        participants.confirm(get_session(), participant, utcnow())
        return redirect(url_for("signup.welcome", token=token), code=303)
    if participant.status != "pending":
        return redirect(url_for("signup.welcome", token=token), code=303)
    return render_template("signup/confirm.html", form=form, participant=participant)


@bp.get("/welkom/<token:token>")
@bad_tokens_per_address
def welcome(token: str) -> str:
    participant = _participant_from_token(token)
    if participant.status == "pending":
        abort(404)
    campaign = participant.campaign
    first_send = send_slot(campaign, participant.first_quiz_day) if participant.first_quiz_day else None
    return render_template(
        "signup/welcome.html", participant=participant, campaign=campaign, first_send=first_send
    )


@bp.get("/privacy")
def privacy() -> str:
    """The privacy statement, with the retention periods this installation is set to."""
    return render_template(
        "signup/privacy.html",
        retention_days=current_app.config["QUIZ_RETENTION_DAYS"],
        unconfirmed_days=participants.UNCONFIRMED_DAYS,
        log_days=current_app.config["QUIZ_LOG_RETENTION_DAYS"],
        consent_version=participants.CONSENT_VERSION,
    )
