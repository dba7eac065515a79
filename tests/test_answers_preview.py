"""The organisers' preview: the same email and pages, recording nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from quiz.delivery.emails import render_question_preview
from quiz.models import Answer, LinkHit
from tests.answer_factories import make_question_set
from tests.conftest import at

NOW = at("2026-11-10 10:00")


def test_preview_email_and_pages_record_nothing(app, client, session):
    qs = make_question_set(session, NOW)
    question = qs.questions[1]
    with app.app_context():
        email = render_question_preview(question, NOW)
    assert email.subject == "Vraag 2 van 5: Vraag over stap 2"
    assert "Hallo deelnemer," in email.text
    assert "(in dit voorbeeld zonder link)" in email.text and "mijn-quiz" not in email.text
    urls = re.findall(r"http://quiz\.test(/voorbeeld/\S+)", email.text)
    assert len(urls) == 4
    assert re.findall(r'class="option" href="http://quiz\.test(/voorbeeld/[^"]+)"', email.html) == urls
    assert "/a/" not in email.text + email.html

    page = client.get(urls[3])
    assert page.status_code == 200
    assert "Voorbeeld: hier wordt niets opgeslagen." in page.text
    assert re.search(r'value="(\d+)" checked>\s*<span class="choice-label">D<', page.text)
    d = re.findall(r'name="option" id="option-\d+" value="(\d+)"', page.text)[3]
    feedback = client.post(urls[3], data={"option": d})
    assert feedback.status_code == 200
    assert "Helaas, dat is niet goed" in feedback.text
    assert "Het goede antwoord is <strong>B. Antwoord B bij vraag 2</strong>" in feedback.text
    assert "Hier ziet de deelnemer hoe anderen antwoordden" in feedback.text
    for model in (Answer, LinkHit):
        assert session.scalar(select(func.count()).select_from(model)) == 0


def test_a_tampered_preview_link_is_400(client):
    response = client.get("/voorbeeld/WzEsMl0.abc.def")
    assert response.status_code == 400
    assert "Deze voorbeeldlink klopt niet" in response.text
