"""The bespreekkaart: a public page per question set, printable on A4 (the
questions first, the answer key on the following pages), and the same as a
PDF (WeasyPrint). No question is split over two pages, in either engine."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from flask import Flask
from sqlalchemy import select

from quiz.db import get_session
from quiz.followups.bespreekkaart import pdf_available
from quiz.models import Question, QuestionSet
from quiz.questionsets.view import QuestionView, question_view
from tests.answer_factories import make_question_set
from tests.conftest import at

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SHIPPED = Path(__file__).resolve().parent.parent / "questions" / "meldcode.toml"


def import_shipped(runner) -> None:  # noqa: ANN001
    result = runner.invoke(args=["quiz", "questions", "import", str(SHIPPED)])
    assert result.exit_code == 0, result.output


def test_questions_come_first_and_the_answers_after_them(client, session):
    """Issue 19 item 6: the card asks the team to choose together, so no answer
    is marked among the questions; the answer key follows all of them."""
    qs = make_question_set(session, at("2026-11-01 09:00"))
    response = client.get(f"/bespreekkaart/{qs.slug}/{qs.version}")
    assert response.status_code == 200
    assert response.headers["X-Robots-Tag"] == "noindex"
    page = response.text
    assert "Bespreekkaart: Meldcode in de praktijk" in page
    questions, key = page.split('<h2 id="antwoorden" class="key-title">Antwoorden en uitleg</h2>')
    for q in qs.questions:
        assert f"{q.position}. {q.title}</h2>" in questions
        for label in "ABCD":
            assert (
                f'<span class="label">{label}.</span> Antwoord {label} bij vraag {q.position}</li>'
                in questions
            )
        assert f"{q.position}. {q.title}</h3>" in key
        assert f"Het goede antwoord is B: Antwoord B bij vraag {q.position}</p>" in key
    for answer_sign in ("goed", "correct", "Praat erover", "in kaart"):
        assert answer_sign not in questions.split('<div class="questions">')[1], answer_sign
    assert key.count("Je brengt signalen eerst <em>in kaart</em>.") == 5  # explanations, rendered
    assert key.count("Praat erover:") == 5
    assert key.count("<em>aandachtsfunctionaris</em>") == 5
    # the newest version without a number, the same page
    assert client.get(f"/bespreekkaart/{qs.slug}").text == page


def shipped_views(app: Flask) -> list[QuestionView]:
    """The shipped set's questions as the card renders them."""
    with app.app_context():
        session = get_session()
        set_id = session.scalar(select(QuestionSet.id).where(QuestionSet.slug == "meldcode"))
        ids = session.scalars(
            select(Question.id).where(Question.question_set_id == set_id).order_by(Question.position)
        ).all()
        return [question_view(session, i) for i in ids]


def flat(text: str) -> str:
    return " ".join(text.split())


def assert_no_question_split(pdf: bytes, views: list[QuestionView]) -> int:
    """Each question (title, situation, every option) on one page, all of them
    before the answer key; each key item (answer, explanation, prompt) on one
    page. Returns the number of pages."""
    pages = [flat(p.extract_text()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    key_start = next(i for i, text in enumerate(pages) if "Het goede antwoord" in text)
    assert key_start >= 1  # the answer key starts on a page of its own
    assert pages[key_start].startswith("Antwoorden en uitleg")
    for q in views:
        heading = f"{q.position}. {q.title}"
        (page,) = [text for text in pages[:key_start] if heading in text]
        assert flat(q.body_text)[:40] in page, heading
        for o in q.options:
            assert f"{o.label}. {flat(o.text)}" in page, (heading, o.label)
        (key,) = [text for text in pages[key_start:] if heading in text]
        assert f"Het goede antwoord is {q.correct.label}: {flat(q.correct.text)}" in key, heading
        assert flat(q.explanation_text)[-40:] in key, heading
        assert flat(q.discussion_text)[-40:] in key, heading
    return len(pages)


@pytest.mark.skipif(not pdf_available(), reason="WeasyPrint or Debian's Pango is missing (make setup)")
def test_the_pdf_splits_no_question_over_two_pages(client, runner):
    import_shipped(runner)
    page = client.get("/bespreekkaart/meldcode/1").text
    assert 'href="/bespreekkaart/meldcode/1.pdf"' in page
    response = client.get("/bespreekkaart/meldcode/1.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    a4 = reader.pages[0].mediabox
    assert (round(float(a4.width) / 72 * 25.4), round(float(a4.height) / 72 * 25.4)) == (210, 297)
    # The questions on the first page, the answer key on the next two.
    assert assert_no_question_split(response.data, shipped_views(client.application)) == 3


@pytest.mark.parametrize(
    "path", ["/bespreekkaart/bestaat-niet", "/bespreekkaart/meldcode/9", "/bespreekkaart/meldcode/9.pdf"]
)
def test_unknown_sets_get_the_dutch_404_page(client, session, path):
    make_question_set(session, at("2026-11-01 09:00"))
    response = client.get(path)
    assert response.status_code == 404
    assert "Pagina niet gevonden" in response.text


@pytest.mark.browser
def test_print_layout_in_chromium_splits_no_question(live_server, browser):
    import_shipped(live_server.app.test_cli_runner())
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="nl-NL")
    page = context.new_page()
    response = page.goto(f"{live_server.url}/bespreekkaart/meldcode")
    assert response.status == 200
    assert page.locator(".question h2").count() == 5
    page.emulate_media(media="print")
    assert not page.locator(".screen-only").is_visible()  # the print hint stays off paper
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bespreekkaart-print.png"), full_page=True)
    data = page.pdf(prefer_css_page_size=True, print_background=True)
    (ARTIFACTS / "bespreekkaart.pdf").write_bytes(data)
    assert assert_no_question_split(data, shipped_views(live_server.app)) == 3
    context.close()
