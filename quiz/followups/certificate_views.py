"""The certificate of participation on the web: the participant's page and
PDF behind their "Mijn quiz" link, and the public check of a code.

- `/mijn-quiz/<token>/deelnamebewijs` (page, printable) and `….pdf`
  (WeasyPrint, as the bespreekkaart; about 0.3 s a PDF, so downloads are
  limited per link). The first view makes the verification
  code (quiz.followups.certificate_code.issue_code). That is a write behind a
  GET on purpose: it is idempotent, the participant decides nothing by it,
  and a mail scanner opening the link only makes the code a little sooner.
  Not available (yet): the Dutch 404 page saying from when.
- `/deelnamebewijs/controleren`: a form (GET, it changes nothing); with
  `?code=` it says whether the code belongs to a certificate we issued,
  and shows only the name and the campaign. An unknown or withdrawn code
  (the participant's data was erased) gets 404, a code that cannot be one
  of ours 400; lookups are rate-limited per client address. A code issued
  stays valid when the organiser later turns certificates off: it was
  genuinely issued. The access log shows it as `<code>` (quiz.ops.logs).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request, url_for
from werkzeug.wrappers import Response

from quiz.answering import answers as answering
from quiz.answering.views import private_page
from quiz.db import get_session, utcnow
from quiz.errors import token_pages
from quiz.followups import certificate as cert
from quiz.followups import certificate_code, certificate_content
from quiz.followups.bespreekkaart import pdf_available
from quiz.formatting import dutch_date
from quiz.models import Participant
from quiz.ratelimits import bad_tokens_per_address, certificate_checks_per_address, pdfs_per_link
from quiz.urls import external_url

bp = Blueprint("certificate", __name__)

# Longer input cannot be a code; it is not even looked at.
MAX_CODE_INPUT = 64


def _participant(token: str) -> Participant:
    with token_pages("manage"):
        return answering.read_manage_link(get_session(), token, utcnow())


def _not_available(state: cert.Availability) -> Response:
    if state.state == "later":
        title = "Je deelnamebewijs is er nog niet"
        when = (
            f"vanaf {dutch_date(state.from_day)}"
            if state.from_day
            else "zodra je laatste quizmail is verstuurd"
        )
        text = f"Je kunt je deelnamebewijs downloaden {when}. Kijk dan nog eens op Mijn quiz."
    else:
        title = "Geen deelnamebewijs"
        text = "Bij deze quiz hoort geen deelnamebewijs, of je bent gestopt voor de laatste vraag."
    body = render_template("error.html", status=404, title=title, text=text, show_signup=False)
    return private_page(body, 404)


def _content(token: str) -> certificate_content.CertificateContent | Response:
    session = get_session()
    participant = _participant(token)
    state = cert.participant_availability(session, participant, utcnow())
    if not state.available:
        return _not_available(state)
    code = certificate_code.issue_code(session, participant)
    return certificate_content.certificate_content(session, participant, code)


def _render(content: certificate_content.CertificateContent, token: str, *, for_pdf: bool) -> str:
    return render_template(
        "certificate/certificate.html",
        c=content,
        for_pdf=for_pdf,
        check_url=external_url("certificate.check"),
        pdf_url=url_for("certificate.pdf", token=token) if pdf_available() and not for_pdf else None,
        manage_url=url_for("account.my_quiz", token=token),
    )


@bp.get("/mijn-quiz/<token:token>/deelnamebewijs")
@bad_tokens_per_address
def page(token: str) -> Response:
    content = _content(token)
    if isinstance(content, Response):
        return content
    return private_page(_render(content, token, for_pdf=False))


@bp.get("/mijn-quiz/<token:token>/deelnamebewijs.pdf")
@bad_tokens_per_address
@pdfs_per_link
def pdf(token: str) -> Response:
    if not pdf_available():
        abort(404)
    content = _content(token)
    if isinstance(content, Response):
        return content
    import weasyprint

    css = weasyprint.CSS(filename=str(Path(current_app.static_folder or "") / "certificate.css"))
    data = weasyprint.HTML(string=_render(content, token, for_pdf=True)).write_pdf(stylesheets=[css])
    response = private_page(data)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = 'attachment; filename="deelnamebewijs-meldcodequiz.pdf"'
    return response


@bp.get("/deelnamebewijs/controleren")
@certificate_checks_per_address
def check() -> Response:
    """Is this code genuine? Only the name and the campaign, nothing else."""
    raw = request.args.get("code")
    if raw is None:
        return private_page(render_template("certificate/check.html", code="", result=None, error=None))
    error = holder = None
    status = 200
    code = certificate_code.normalise_code(raw) if len(raw) <= MAX_CODE_INPUT else None
    if not raw.strip():
        error, status = "Vul de code van het deelnamebewijs in.", 400
    elif code is None:
        error, status = (
            "Dit is geen code van een deelnamebewijs. Een code heeft 12 letters en cijfers, "
            "zoals K7QM-4XPD-9HT2.",
            400,
        )
    else:
        holder = certificate_code.holder_of(get_session(), code)
        status = 200 if holder is not None else 404
    body = render_template(
        "certificate/check.html",
        code=(code or raw)[:MAX_CODE_INPUT],
        result="genuine" if holder is not None else ("unknown" if code and not error else None),
        holder=holder,
        error=error,
    )
    return private_page(body, status)
