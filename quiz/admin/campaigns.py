"""Campaigns: the list, create and edit, open and close signup, the calendar."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, time

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from quiz.admin.blueprint import bp
from quiz.admin.campaign_form import (
    CampaignForm,
    apply_form,
    fill_form,
    parse_day,
    set_change_problem,
    set_choices,
)
from quiz.admin.schedule_view import example_confirmation, quiz_days, slot_text, weeks
from quiz.db import get_session, utcnow
from quiz.delivery.planner import local_date
from quiz.models import Campaign, Participant, Question
from quiz.repeats.rules import round_start

SIGNUP_STATES = {"open": "open", "not_yet": "nog niet open", "closed": "gesloten"}


def get_campaign(campaign_id: int) -> Campaign:
    campaign = get_session().get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


@bp.route("/campagnes")
def campaigns() -> str:
    session = get_session()
    rows = session.scalars(select(Campaign).order_by(Campaign.created_at.desc())).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for campaign_id, status, n in session.execute(
        select(Participant.campaign_id, Participant.status, func.count()).group_by(
            Participant.campaign_id, Participant.status
        )
    ):
        counts[campaign_id][status] = int(n)
    now = utcnow()
    return render_template(
        "admin/campaigns.html",
        campaigns=rows,
        counts=counts,
        states={c.id: SIGNUP_STATES[c.signup_state(now)] for c in rows},
    )


def _save(form: CampaignForm, campaign: Campaign, is_new: bool) -> Response | None:
    """Apply a posted, valid form; a redirect when saved, None when the form got an error."""
    session = get_session()
    problem = set_change_problem(session, campaign, form.question_set_id.data)
    if problem:
        form.question_set_id.errors = [problem]
        return None
    if is_new or form.slug.data != campaign.slug:
        taken = session.scalar(
            select(Campaign.id).where(Campaign.slug == form.slug.data, Campaign.id != campaign.id)
        )
        if taken is not None:
            form.slug.errors = ["Deze korte naam is al in gebruik. Kies een andere."]
            return None
    apply_form(form, campaign)
    if is_new:
        campaign.created_at = utcnow()
        session.add(campaign)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        form.slug.errors = ["Deze korte naam is al in gebruik. Kies een andere."]
        return None
    flash("De campagne is opgeslagen.", "success")
    return redirect(url_for("admin.campaign_dashboard", campaign_id=campaign.id), code=303)


@bp.route("/campagnes/nieuw", methods=["GET", "POST"])
def campaign_new() -> str | Response | tuple[str, int]:
    form = CampaignForm()
    set_choices(form, get_session())
    if request.method == "GET":
        form.start_mode.data = "rolling"
        form.send_time.data = time(7, 30)
        form.followup_time.data = time(15, 0)
        form.followups_enabled.data = form.reminders_enabled.data = form.summary_enabled.data = True
        form.repeats.data, form.repeat_interval_days.data, form.repeat_max.data = "none", 7, 2
    elif form.validate_on_submit():
        campaign = Campaign(timezone="Europe/Amsterdam")
        saved = _save(form, campaign, is_new=True)
        if saved is not None:
            return saved
    status = 422 if request.method == "POST" else 200
    return render_template("admin/campaign_edit.html", form=form, campaign=None), status


@bp.route("/campagnes/<int:campaign_id>/bewerken", methods=["GET", "POST"])
def campaign_edit(campaign_id: int) -> str | Response | tuple[str, int]:
    campaign = get_campaign(campaign_id)
    form = CampaignForm()
    set_choices(form, get_session())
    if request.method == "GET":
        fill_form(form, campaign)
    elif form.validate_on_submit():
        saved = _save(form, campaign, is_new=False)
        if saved is not None:
            return saved
    status = 422 if request.method == "POST" else 200
    return render_template("admin/campaign_edit.html", form=form, campaign=campaign), status


@bp.route("/campagnes/<int:campaign_id>/aanmelding", methods=["POST"])
def campaign_signup(campaign_id: int) -> Response:
    """Open signup now (lifting a past end) or close it now."""
    campaign = get_campaign(campaign_id)
    now = utcnow()
    if request.form.get("action") == "open":
        if campaign.signup_opens_at is None or campaign.signup_opens_at > now:
            campaign.signup_opens_at = now
        if campaign.signup_closes_at is not None and campaign.signup_closes_at <= now:
            campaign.signup_closes_at = None
        message = "Aanmelden is nu open."
    elif request.form.get("action") == "close":
        campaign.signup_closes_at = now
        if campaign.signup_opens_at is not None and campaign.signup_opens_at > now:
            campaign.signup_opens_at = None
        message = "Aanmelden is nu gesloten. Wie al meedoet, krijgt de vragen gewoon."
    else:
        abort(400)
    get_session().commit()
    flash(message, "success")
    if request.form.get("back") == "list":
        return redirect(url_for("admin.campaigns"), code=303)
    return redirect(url_for("admin.campaign_dashboard", campaign_id=campaign.id), code=303)


@bp.route("/campagnes/<int:campaign_id>/kalender")
def campaign_calendar(campaign_id: int) -> str:
    campaign = get_campaign(campaign_id)
    count = (
        get_session().scalar(select(func.count()).where(Question.question_set_id == campaign.question_set_id))
        or 0
    )
    today = local_date(utcnow(), campaign.timezone)
    chosen = parse_day(request.args.get("bevestigd", "").strip()) if request.args.get("bevestigd") else None
    confirmed_on: date = chosen or (
        campaign.start_date if campaign.start_mode == "fixed" and campaign.start_date else today
    )
    days = quiz_days(campaign, count, example_confirmation(campaign, confirmed_on))
    repeat_rounds = (
        [round_start(campaign, days[-1], n) for n in range(1, campaign.repeat_max + 1)]
        if days and campaign.repeats != "none"
        else []
    )
    return render_template(
        "admin/campaign_calendar.html",
        campaign=campaign,
        count=count,
        confirmed_on=confirmed_on,
        days=days,
        repeat_rounds=repeat_rounds,
        weeks=weeks(campaign, days, min([confirmed_on, *days])),
        send_time=slot_text(campaign, days[0]) if days else None,
        today=today,
    )
