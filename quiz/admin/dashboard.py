"""The campaign dashboard: figures and charts, and the retry button for failures."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from quiz.admin import figures as dashboard
from quiz.admin import learning
from quiz.admin.blueprint import bp
from quiz.admin.campaigns import SIGNUP_STATES, get_campaign
from quiz.admin.charts import Bar, bar_chart, number
from quiz.db import get_session, utcnow
from quiz.formatting import counted
from quiz.names import DELIVERY_STATUS_NAMES, KIND_NAMES, email_name

# At a glance: the biggest organisations on the dashboard, all of them one click away.
ORGANISATIONS_SHOWN = 20


def funnel_chart(d: dashboard.Dashboard) -> object:
    steps = [("Aangemeld", d.signed_up), ("Bevestigd", d.confirmed)]
    steps += [(f"Dag {i} beantwoord", n) for i, n in enumerate(d.answered_per_day, start=1)]
    if d.answered_per_day:
        steps.append((f"Alle {len(d.answered_per_day)} beantwoord", d.completed))
    bars = [Bar(label, n, number(n)) for label, n in steps]
    return bar_chart("trechter", "Van aanmelding tot de laatste vraag", bars, maximum=max(d.signed_up, 1))


def question_chart(figures: dashboard.QuestionFigures) -> object:
    q = figures.question
    total = figures.total
    bars = []
    for o in q.options:
        n = figures.counts.get(o.id, 0)
        bars.append(
            Bar(f"{o.label}. {o.text}", n, f"{dashboard.pct(n, total) or 0} % ({number(n)})", o.is_correct)
        )
    return bar_chart(
        f"vraag-{q.position}", f"Antwoorden op vraag {q.position}: {q.title}", bars, maximum=max(total, 1)
    )


@bp.route("/campagnes/<int:campaign_id>")
def campaign_dashboard(campaign_id: int) -> str:
    campaign = get_campaign(campaign_id)
    session = get_session()
    d = dashboard.build(session, campaign)
    sector_bars = [Bar(g.name, g.participants, number(g.participants)) for g in d.sectors]
    return render_template(
        "admin/dashboard.html",
        campaign=campaign,
        d=d,
        signup_state=SIGNUP_STATES[campaign.signup_state(utcnow())],
        funnel=funnel_chart(d),
        question_charts={f.question.id: question_chart(f) for f in d.questions},
        sector_chart=bar_chart("sectoren", "Deelnemers per sector", sector_bars) if sector_bars else None,
        kind_names=KIND_NAMES,
        email_name=email_name,
        status_names=DELIVERY_STATUS_NAMES,
        number=number,
        min_organisation=dashboard.MIN_ORGANISATION,
        retention=learning.retention(session, campaign, [f.question for f in d.questions]),
        min_group=learning.MIN_GROUP,
        organisations_shown=ORGANISATIONS_SHOWN,
        retry_hours=current_app.config["QUIZ_OUTBOX_RETRY_HOURS"],
    )


@bp.route("/campagnes/<int:campaign_id>/organisaties")
def campaign_organisations(campaign_id: int) -> str:
    """Every organisation with its figures (the dashboard shows the biggest)."""
    campaign = get_campaign(campaign_id)
    session = get_session()
    questions = dashboard.campaign_questions(session, campaign)
    groups = dashboard.participant_groups(session, campaign.id, questions)
    return render_template(
        "admin/organisations.html",
        campaign=campaign,
        organisations=dashboard.by_organisation(groups),
        number=number,
        min_organisation=dashboard.MIN_ORGANISATION,
    )


@bp.route("/campagnes/<int:campaign_id>/opnieuw-versturen", methods=["POST"])
def campaign_retry(campaign_id: int) -> Response:
    """Queue one failed delivery (delivery=ID) or all of the campaign's again."""
    campaign = get_campaign(campaign_id)
    raw = request.form.get("delivery", "")
    delivery_id = int(raw) if raw.isdigit() and len(raw) < 12 else None
    queued = dashboard.retry_failed(get_session(), campaign.id, utcnow(), delivery_id)
    if queued:
        flash(
            f"{counted(queued, 'e-mail staat', 'e-mails staan')} klaar om opnieuw te versturen. "
            f"De planner verstuurt {'hem' if queued == 1 else 'ze'} binnen een paar minuten.",
            "success",
        )
    else:
        flash(
            "Er was niets om opnieuw te versturen "
            "(afgemelde of gewiste deelnemers krijgen geen e-mail meer).",
            "info",
        )
    return redirect(url_for("admin.campaign_dashboard", campaign_id=campaign.id) + "#bezorging", code=303)
