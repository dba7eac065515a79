"""Live preview of a question, and "send me a test".

The preview uses the participants' own code: the question email from
quiz.delivery.emails.render_question_preview (same templates), and for the confirm
and feedback pages the answers blueprint's preview route, which renders the
same templates and records nothing (no LinkHit, no Answer).
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from quiz.admin import testmail
from quiz.admin.auth import current_organiser
from quiz.admin.blueprint import bp
from quiz.admin.questionsets import get_set
from quiz.db import get_session, utcnow
from quiz.delivery.emails import render_question_preview
from quiz.delivery.mailer import SendError
from quiz.links import preview_token
from quiz.models import Campaign, Question
from quiz.security import links_leave_the_frame


def _question(set_id: int, day: int) -> Question | None:
    return get_session().scalar(
        select(Question).where(Question.question_set_id == set_id, Question.position == day)
    )


@bp.route("/vragensets/<int:set_id>/vraag/<int:day>/voorbeeld")
def question_preview(set_id: int, day: int) -> str | Response:
    qs = get_set(set_id)
    question = _question(set_id, day)
    if question is None:
        flash(f"Deze set heeft geen vraag {day}.", "error")
        return redirect(url_for("admin.questionset", set_id=set_id))
    email = render_question_preview(question, utcnow())
    return render_template(
        "admin/question_preview.html",
        qs=qs,
        q=question,
        email=email,
        confirm_links=[
            (o, url_for("answers.preview", token=preview_token(question.id, o.id))) for o in question.options
        ],
        feedback_url=url_for("answers.preview", token=preview_token(question.id)),
    )


@bp.route("/vragensets/<int:set_id>/vraag/<int:day>/voorbeeld/email.html")
def question_preview_html(set_id: int, day: int) -> Response:
    """The HTML part of the email exactly as sent, shown in a sandboxed frame."""
    question = _question(set_id, day)
    if question is None:
        return Response("", status=404)
    # quiz.security gives this endpoint the framed-email policy: a sandbox
    # without scripts, links opening outside the frame, framable by us only.
    html = links_leave_the_frame(render_question_preview(question, utcnow()).html)
    return Response(html, mimetype="text/html")


@bp.route("/vragensets/<int:set_id>/test", methods=["POST"])
def send_test(set_id: int) -> Response:
    qs = get_set(set_id)
    organiser = current_organiser()
    campaign = get_session().scalar(
        select(Campaign).where(Campaign.question_set_id == set_id).order_by(Campaign.created_at.desc())
    )
    now = utcnow()
    emails, failed = testmail.render_sequence(qs, campaign, organiser.email, now)
    try:
        testmail.send_all(current_app.config, emails, organiser.email, now)
    except (SendError, OSError) as exc:
        current_app.logger.warning("test emails to %s not sent: %s", organiser.email, exc)
        flash(
            "De testmails konden niet worden verstuurd: de mailserver gaf een fout. "
            "Probeer het later opnieuw of vraag de beheerder de mailinstellingen te controleren.",
            "error",
        )
        return redirect(url_for("admin.questionset", set_id=set_id), code=303)
    flash(f"{len(emails)} testmails verstuurd naar {organiser.email}.", "success")
    if failed:
        flash(f"Deze e-mails konden (nog) niet worden gemaakt: {', '.join(failed)}.", "error")
    return redirect(url_for("admin.questionset", set_id=set_id), code=303)
