"""The certificate in a real browser: from Mijn quiz, download the PDF (and
read what it says), open the printable page, and check its code on the public
page, with an axe-core check (WCAG 2.1 A/AA) of the pages on the way."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
import pytest
from playwright.sync_api import expect

from quiz.answering.answers import record_answer
from quiz.db import session_scope, utcnow
from quiz.delivery.planner import send_slot
from quiz.delivery.workdays import nth_working_day, working_days_back_from
from quiz.links import manage_token
from quiz.models import Participant
from tests.answer_factories import make_players, make_quiz, send_question
from tests.test_admin_browser import ARTIFACTS, AXE, assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture
def desktop(browser):  # noqa: ANN001, ANN201
    context = browser.new_context(
        viewport={"width": 1100, "height": 900}, locale="nl-NL", accept_downloads=True
    )
    if AXE.is_file():
        context.add_init_script(path=str(AXE))
    page = context.new_page()
    yield page
    context.close()


def finished_week(live_server) -> tuple[int, str]:  # noqa: ANN001
    """A participant whose five questions went out two to three weeks ago
    (dates relative to today) and who answered them all right."""
    now = utcnow()
    with session_scope(live_server.app) as s:
        campaign, qs = make_quiz(s, now, name="Week tegen Kindermishandeling", certificates_enabled=True)
        today = now.astimezone(ZoneInfo(campaign.timezone)).date()
        first = next(working_days_back_from(today - timedelta(days=21)))
        [sanne] = make_players(s, campaign, now, 1, first_day=first)
        sanne.name = "Sanne de Vries"
        s.commit()
        for q in qs.questions:
            moment = send_slot(campaign, nth_working_day(first, q.position))
            send_question(live_server.app, s, sanne, q, moment)
            record_answer(s, sanne.id, q.id, q.correct_option.id, moment + timedelta(hours=1))
        with live_server.app.app_context():
            return sanne.id, manage_token(sanne.id)


def test_download_the_certificate_from_mijn_quiz_and_check_its_code(live_server, desktop):
    participant_id, token = finished_week(live_server)
    page = desktop
    page.goto(f"{live_server.url}/mijn-quiz/{token}")
    expect(page.get_by_role("heading", name="Deelnamebewijs")).to_be_visible()
    assert_accessible(page, "certificate-my-quiz")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download je deelnamebewijs (pdf)").click()
    download = download_info.value
    assert download.suggested_filename == "deelnamebewijs-meldcodequiz.pdf"
    reader = pypdf.PdfReader(io.BytesIO(Path(download.path()).read_bytes()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Sanne de Vries" in text and "Week tegen Kindermishandeling" in text
    assert "5 van de 5 vragen goed beantwoord" in text
    code = re.search(r"Controlecode: (\S{4}-\S{4}-\S{4})", text).group(1)
    with session_scope(live_server.app) as s:
        assert s.get(Participant, participant_id).certificate_code == code

    page.get_by_role("link", name="Bekijk of print het").click()
    expect(page.get_by_text(code)).to_be_visible()
    expect(page.get_by_role("heading", name="Sanne de Vries")).to_be_visible()
    assert_accessible(page, "certificate-page")
    # Printed from the browser it is one A4 page too, without the links around it.
    page.emulate_media(media="print")
    assert not page.get_by_role("link", name="Terug naar Mijn quiz").is_visible()
    page.screenshot(path=str(ARTIFACTS / "certificate-print.png"), full_page=True)
    assert len(pypdf.PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True))).pages) == 1
    page.emulate_media(media="screen")

    page.goto(f"{live_server.url}/deelnamebewijs/controleren")
    assert_accessible(page, "certificate-check-form")
    page.get_by_label("Controlecode").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Controleren").click()
    expect(page.get_by_role("heading", name="Dit deelnamebewijs is echt")).to_be_visible()
    expect(page.get_by_text("Sanne de Vries")).to_be_visible()
    assert_accessible(page, "certificate-check-genuine")

    page.get_by_label("Controlecode").fill("ABCD")
    page.get_by_role("button", name="Controleren").click()
    expect(page.get_by_text("Dit is geen code van een deelnamebewijs.")).to_be_visible()
    assert page.get_by_label("Controlecode").get_attribute("aria-invalid") == "true"
    assert_accessible(page, "certificate-check-error")


def test_certificate_pages_fit_a_phone(live_server, phone):
    participant_id, token = finished_week(live_server)
    for path in (f"/mijn-quiz/{token}", f"/mijn-quiz/{token}/deelnamebewijs", "/deelnamebewijs/controleren"):
        phone.goto(live_server.url + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, path
    expect(phone.get_by_role("button", name="Controleren")).to_be_visible()
