"""The bespreekkaart: a public page per question set, printable on two A4
pages, and the same as a PDF (WeasyPrint)."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from quiz.followups.bespreekkaart import pdf_available
from tests.answer_factories import make_question_set
from tests.conftest import at

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SHIPPED = Path(__file__).resolve().parent.parent / "questions" / "meldcode.toml"


def import_shipped(runner) -> None:  # noqa: ANN001
    result = runner.invoke(args=["quiz", "questions", "import", str(SHIPPED)])
    assert result.exit_code == 0, result.output


def test_the_card_shows_every_question_answer_explanation_and_prompt(client, session):
    qs = make_question_set(session, at("2026-11-01 09:00"))
    response = client.get(f"/bespreekkaart/{qs.slug}/{qs.version}")
    assert response.status_code == 200
    assert response.headers["X-Robots-Tag"] == "noindex"
    page = response.text
    assert "Bespreekkaart: Meldcode in de praktijk" in page
    for q in qs.questions:
        assert f"{q.position}. {q.title}" in page
        assert f"Antwoord B bij vraag {q.position} (goed)" in page
        assert f"Antwoord A bij vraag {q.position} (goed)" not in page
    assert page.count("Je brengt signalen eerst <em>in kaart</em>.") == 5  # explanations, rendered
    assert page.count("Praat erover:") == 5
    assert page.count("<em>aandachtsfunctionaris</em>") == 5
    # the newest version without a number, the same page
    assert client.get(f"/bespreekkaart/{qs.slug}").text == page


@pytest.mark.parametrize(
    "path", ["/bespreekkaart/bestaat-niet", "/bespreekkaart/meldcode/9", "/bespreekkaart/meldcode/9.pdf"]
)
def test_unknown_sets_get_the_dutch_404_page(client, session, path):
    make_question_set(session, at("2026-11-01 09:00"))
    response = client.get(path)
    assert response.status_code == 404
    assert "Pagina niet gevonden" in response.text


@pytest.mark.skipif(not pdf_available(), reason="WeasyPrint or Debian's Pango is missing (make setup)")
def test_the_pdf_of_the_shipped_set_fits_on_two_a4_pages(client, runner):
    import_shipped(runner)
    page = client.get("/bespreekkaart/meldcode/1").text
    assert 'href="/bespreekkaart/meldcode/1.pdf"' in page
    response = client.get("/bespreekkaart/meldcode/1.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    assert 1 <= len(reader.pages) <= 2
    a4 = reader.pages[0].mediabox
    assert (round(float(a4.width) / 72 * 25.4), round(float(a4.height) / 72 * 25.4)) == (210, 297)
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Bespreekkaart" in text and "Praat erover" in text
    assert text.count("(goed)") == 5


@pytest.mark.browser
def test_print_layout_in_chromium_fits_on_two_a4_pages(live_server, browser):
    import_shipped(live_server.app.test_cli_runner())
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="nl-NL")
    page = context.new_page()
    response = page.goto(f"{live_server.url}/bespreekkaart/meldcode")
    assert response.status == 200
    assert page.locator("h2").count() == 5
    page.emulate_media(media="print")
    assert not page.locator(".screen-only").is_visible()  # the print hint stays off paper
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bespreekkaart-print.png"), full_page=True)
    data = page.pdf(prefer_css_page_size=True, print_background=True)
    (ARTIFACTS / "bespreekkaart.pdf").write_bytes(data)
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    text = " ".join(p.extract_text() for p in reader.pages)
    assert text.count("(goed)") == 5 and "Praat erover" in text
    context.close()
