""" "Mijn quiz": progress per day, links to open questions, the next question, the score."""

from __future__ import annotations

import re

import pytest
import time_machine
from sqlalchemy import func, select

from quiz.answering.answers import record_answer
from quiz.models import Answer, LinkHit
from tests.answer_factories import links, make_players, make_quiz, send_question
from tests.conftest import at

MONDAY = at("2026-11-16 07:30")


@pytest.fixture
def quiz(app, session, smtp):
    campaign, qs = make_quiz(session, MONDAY)
    sanne, kees = make_players(session, campaign, MONDAY, 2)
    sanne.name, kees.name = "Sanne", "Kees"
    session.commit()
    return {"campaign": campaign, "qs": qs, "sanne": sanne, "kees": kees}


def label_id(question, label: str) -> int:
    return next(o.id for o in question.options if o.label == label)


def manage_link(message) -> str:
    # The page itself, not a "nog niet beantwoord" link to one question on it.
    return next(link for link in links(message) if re.fullmatch(r"/mijn-quiz/[^/]+", link))


def days(page_text: str) -> list[str]:
    items = re.findall(r'<li class="day[^"]*">(.*?)</li>', page_text, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_progress_during_the_week(app, client, session, smtp, quiz):
    qs, sanne = quiz["qs"], quiz["sanne"]
    q1, q2 = qs.questions[0], qs.questions[1]
    send_question(app, session, sanne, q1, MONDAY)
    send_question(app, session, sanne, q2, at("2026-11-17 07:30"))
    record_answer(session, sanne.id, q1.id, label_id(q1, "B"), at("2026-11-16 08:00"))
    # Kees's answers never show on Sanne's page.
    send_question(app, session, quiz["kees"], q1, MONDAY)
    record_answer(session, quiz["kees"].id, q1.id, label_id(q1, "A"), at("2026-11-16 08:00"))

    link = manage_link(smtp.to("collega0@example.org")[-1])
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        page = client.get(link)
    assert page.status_code == 200
    assert "<h1>Mijn quiz</h1>" in page.text and "Sanne" in page.text and "Kees" not in page.text
    assert (
        "Je hebt <strong>1 van de 5</strong> vragen beantwoord, waarvan <strong>1</strong> goed." in page.text
    )
    assert days(page.text) == [
        "Vraag 1: Vraag over stap 1 Beantwoord: B · goed Uitleg bij vraag 1",
        "Vraag 2: Vraag over stap 2 Verstuurd, nog niet beantwoord Beantwoord vraag 2",
        "Vraag 3: Vraag over stap 3 Komt op woensdag 18 november 2026",
        "Vraag 4: Vraag over stap 4 Komt op donderdag 19 november 2026",
        "Vraag 5: Vraag over stap 5 Komt op vrijdag 20 november 2026",
    ]
    next_line = " ".join(page.text.split("De volgende vraag komt op ")[1].split("</p>")[0].split())
    assert next_line == "<strong>woensdag 18 november 2026 om 07:30 uur</strong>."
    assert "nog beantwoorden tot en met vrijdag 27 november 2026" in page.text
    assert "Je score" not in page.text

    # The link on the page answers question 2 (confirm, then it counts).
    open_link = re.search(r'href="(/mijn-quiz/[^"]+/vraag/2)">Beantwoord vraag 2', page.text).group(1)
    with time_machine.travel(at("2026-11-17 12:01"), tick=False):
        open_link = client.get(open_link).headers["Location"]
        form = client.get(open_link).text
        assert " checked" not in form
        client.post(
            open_link, data={"option": re.findall(r'name="option" id="option-\d+" value="(\d+)"', form)[0]}
        )
        assert "Beantwoord: A · niet goed" in client.get(link).text
    # Reading the page recorded nothing.
    assert session.scalar(select(func.count()).select_from(LinkHit)) == 0


def test_score_at_the_end(app, client, session, smtp, quiz):
    qs, sanne = quiz["qs"], quiz["sanne"]
    for k, question in enumerate(qs.questions):
        send_question(app, session, sanne, question, at(f"2026-11-{16 + k} 07:30"))
    for question, label in zip(qs.questions[:4], "BBAB", strict=True):
        record_answer(session, sanne.id, question.id, label_id(question, label), at("2026-11-20 09:00"))
    link = manage_link(smtp.messages[-1])

    with time_machine.travel(at("2026-11-27 12:00"), tick=False):
        page = client.get(link).text
    assert "Je score" not in page  # question 5 can still be answered
    assert "Beantwoord vraag 5" in page

    with time_machine.travel(at("2026-11-30 12:00"), tick=False):
        page = client.get(link).text
    assert "<strong>3 van de 5</strong> vragen goed" in page
    assert "Je hebt 4 van de 5 vragen beantwoord." in page
    assert "Beantwoord vraag" not in page  # answers have closed
    assert "De volgende vraag komt" not in page


def test_score_as_soon_as_everything_is_answered(app, client, session, smtp, quiz):
    qs, sanne = quiz["qs"], quiz["sanne"]
    for k, question in enumerate(qs.questions):
        send_question(app, session, sanne, question, at(f"2026-11-{16 + k} 07:30"))
        record_answer(session, sanne.id, question.id, label_id(question, "B"), at(f"2026-11-{16 + k} 09:00"))
    with time_machine.travel(at("2026-11-20 10:00"), tick=False):
        page = client.get(manage_link(smtp.messages[-1])).text
    assert "<strong>5 van de 5</strong> vragen goed" in page
    assert session.scalar(select(func.count()).select_from(Answer)) == 5


def test_an_answered_question_links_back_to_its_feedback(app, client, session, smtp, quiz):
    """Issue 19 item 5: each answered question links back to its feedback and
    explanation, also after the answer links have closed."""
    qs, sanne = quiz["qs"], quiz["sanne"]
    q1, q2 = qs.questions[0], qs.questions[1]
    send_question(app, session, sanne, q1, MONDAY)
    send_question(app, session, sanne, q2, at("2026-11-17 07:30"))
    record_answer(session, sanne.id, q1.id, label_id(q1, "A"), at("2026-11-16 08:00"))
    link = manage_link(smtp.messages[-1])
    for moment in ("2026-11-17 12:00", "2026-12-10 12:00"):  # during the week; after answers closed
        with time_machine.travel(at(moment), tick=False):
            page = client.get(link).text
            back = re.search(r'href="(/mijn-quiz/[^"]+/antwoord/1)">Uitleg bij vraag 1</a>', page)
            assert back is not None and "/antwoord/2" not in page  # question 2 is not answered
            feedback = client.get(back.group(1))
        assert feedback.status_code == 200 and feedback.headers["Cache-Control"] == "no-store"
        text = " ".join(feedback.text.split())
        assert "Helaas, dat is niet goed" in text
        assert "Jouw antwoord: <strong>A. " in text and "Het goede antwoord is <strong>B. " in text
        assert "<h2>Uitleg</h2>" in text and "Je brengt signalen eerst <em>in kaart</em>." in text
        assert "Je beantwoordde deze vraag op maandag 16 november 2026 om 08:00 uur." in text
        assert f'href="{link}"' in text  # back to Mijn quiz
    # Only answered questions: another question or someone else's answer is not found.
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        assert client.get(link + "/antwoord/2").status_code == 404
        assert client.get(link + "/antwoord/9").status_code == 404
    assert session.scalar(select(func.count()).select_from(LinkHit)) == 0


def test_the_bespreekkaart_is_linked_once_every_question_is_answered(app, client, session, smtp, quiz):
    qs, sanne = quiz["qs"], quiz["sanne"]
    for k, question in enumerate(qs.questions):
        send_question(app, session, sanne, question, at(f"2026-11-{16 + k} 07:30"))
    link = manage_link(smtp.messages[-1])
    card = f'href="/bespreekkaart/{qs.slug}/{qs.version}"'
    with time_machine.travel(at("2026-11-20 10:00"), tick=False):
        assert card not in client.get(link).text  # it holds the answer key
        for question in qs.questions:
            record_answer(session, sanne.id, question.id, label_id(question, "B"), at("2026-11-20 09:00"))
        page = client.get(link).text
    assert f"<a {card}>Open de bespreekkaart</a>" in page
    assert client.get(f"/bespreekkaart/{qs.slug}/{qs.version}").status_code == 200
