"""The bespreekkaart: a public, printable page per question set for a team meeting.

Every question with its options first, unmarked, so that a team chooses an
answer together; then, from a new page, the answer key: per question the
correct option, the explanation and the discussion prompt. Printed on A4
(quiz/static/bespreekkaart.css), no question or key item is split over two
columns or pages; the shipped set takes three pages.

Public on purpose: the summary email invites participants to print it and
pass it on. It shows the answers, so it is linked only after the quiz (the
summary email; "Mijn quiz" once every question is answered). Not indexed by
search engines.

The same page as a PDF when WeasyPrint can be imported (it needs Debian's
Pango, which `make setup` installs); without it the PDF link is not shown
and the print stylesheet does the job.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from quiz.db import get_session
from quiz.models import Question, QuestionSet
from quiz.questionsets.view import QuestionView, question_view

bp = Blueprint("bespreekkaart", __name__)


def pdf_available() -> bool:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):  # OSError: the package is there, Pango is not
        return False
    return True


def _question_set(slug: str, version: int | None) -> QuestionSet:
    query = select(QuestionSet).where(QuestionSet.slug == slug)
    query = (
        query.where(QuestionSet.version == version) if version else query.order_by(QuestionSet.version.desc())
    )
    found = get_session().scalars(query.limit(1)).first()
    if found is None:
        abort(404)
    return found


def _views(question_set: QuestionSet) -> list[QuestionView]:
    session = get_session()
    ids = session.scalars(
        select(Question.id).where(Question.question_set_id == question_set.id).order_by(Question.position)
    )
    return [v for v in (question_view(session, i) for i in ids) if v is not None]


def _render(question_set: QuestionSet, *, for_pdf: bool) -> str:
    return render_template(
        "bespreekkaart/card.html",
        qs=question_set,
        questions=_views(question_set),
        for_pdf=for_pdf,
        pdf_url=url_for("bespreekkaart.pdf", slug=question_set.slug, version=question_set.version)
        if pdf_available() and not for_pdf
        else None,
    )


def _public(body: str | bytes, mimetype: str = "text/html") -> Response:
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/bespreekkaart/<slug>")
def newest(slug: str) -> Response:
    return _public(_render(_question_set(slug, None), for_pdf=False))


@bp.get("/bespreekkaart/<slug>/<int:version>")
def card(slug: str, version: int) -> Response:
    return _public(_render(_question_set(slug, version), for_pdf=False))


@bp.get("/bespreekkaart/<slug>/<int:version>.pdf")
def pdf(slug: str, version: int) -> Response:
    if not pdf_available():
        abort(404)
    import weasyprint

    question_set = _question_set(slug, version)
    html = _render(question_set, for_pdf=True)
    # The stylesheet from disk, not over HTTP: the page links nothing else.
    css = weasyprint.CSS(filename=str(Path(current_app.static_folder or "") / "bespreekkaart.css"))
    data = weasyprint.HTML(string=html).write_pdf(stylesheets=[css])
    response = _public(data, "application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="bespreekkaart-{slug}-v{version}.pdf"'
    return response
