"""The item-analysis page of one version of a question set (figures in
quiz.admin.item_analysis), linked from the set and from each campaign's dashboard."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from quiz.admin import item_analysis
from quiz.admin.blueprint import bp
from quiz.admin.charts import number
from quiz.admin.questionsets import get_set
from quiz.db import get_session
from quiz.models import Campaign, QuestionSet


def decimal(value: float | None, places: int = 2) -> str:
    """Dutch decimal comma: 0,35; a dash for a figure that does not exist."""
    return "–" if value is None else f"{value:.{places}f}".replace(".", ",").replace("-", "−")


def percent(share: float | None) -> str:
    return "–" if share is None else f"{round(100 * share)} %"


@bp.route("/vragensets/<int:set_id>/itemanalyse")
def item_analysis_page(set_id: int) -> str:
    question_set = get_set(set_id)
    session = get_session()
    versions = session.scalars(
        select(QuestionSet).where(QuestionSet.slug == question_set.slug).order_by(QuestionSet.version)
    ).all()
    campaigns = session.scalars(
        select(Campaign).where(Campaign.question_set_id == set_id).order_by(Campaign.name)
    ).all()
    return render_template(
        "admin/item_analysis.html",
        qs=question_set,
        analysis=item_analysis.analyse_set(session, question_set),
        versions=versions,
        campaigns=campaigns,
        number=number,
        decimal=decimal,
        percent=percent,
        rare_percent=round(item_analysis.RARE_OPTION_SHARE * 100),
    )
