"""Preview of a question (email, confirm page, feedback page) that records
nothing, and "send me a test" through the real mailer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from quiz.admin import testmail
from quiz.db import utcnow
from quiz.delivery.emails import render_question_preview
from quiz.delivery.mail_templates import TEMPLATE_DIR
from quiz.models import Answer, Delivery, LinkHit, Participant
from quiz.security import links_leave_the_frame
from tests.admin_factories import EMAIL, flashes, import_meldcode


@pytest.fixture
def qs(session):
    return import_meldcode(session)


def counts(session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Answer, LinkHit, Delivery, Participant)
    )


def test_the_preview_shows_the_email_as_participants_get_it(app, admin, qs):
    question = qs.questions[1]
    page = admin.get(f"/admin/vragensets/{qs.id}/vraag/2/voorbeeld")
    assert page.status_code == 200
    with app.test_request_context():
        email = render_question_preview(question, utcnow())
    assert email.subject in page.text
    assert f"Vraag 2 van {len(qs.questions)}" in email.subject
    # The text part, as is (HTML-escaped on the page).
    assert "Vraag 2 van" in page.text and question.options[0].text in page.text
    frame = admin.get(f"/admin/vragensets/{qs.id}/vraag/2/voorbeeld/email.html")
    assert frame.mimetype == "text/html"
    assert "sandbox" in frame.headers["Content-Security-Policy"]
    # The same template and code: identical apart from the signed links'
    # timestamps, and the base target that makes its links leave the frame.
    strip = re.compile(r"/voorbeeld/[\w.-]+")
    assert strip.sub("", frame.text) == strip.sub("", links_leave_the_frame(email.html))
    assert '<base target="_top">' in frame.text


def test_preview_links_show_the_pages_and_record_nothing(admin, session, qs):
    question = qs.questions[0]
    page = admin.get(f"/admin/vragensets/{qs.id}/vraag/1/voorbeeld").text
    confirm_links = re.findall(r'href="(/voorbeeld/[^"]+)"', page)
    feedback_action = re.search(r'<form method="post" action="(/voorbeeld/[^"]+)"', page).group(1)
    assert len(confirm_links) == len(question.options)
    before = counts(session)

    confirm = admin.get(confirm_links[0])
    assert confirm.status_code == 200
    assert "Voorbeeld: hier wordt niets opgeslagen." in confirm.text
    assert question.title in confirm.text and "Bevestig mijn antwoord" in confirm.text

    for option in question.options:
        feedback = admin.client.post(feedback_action, data={"option": str(option.id)})
        assert feedback.status_code == 200
        assert "Voorbeeld: hier wordt niets opgeslagen." in feedback.text
        assert option.text in feedback.text
    # Also the HEAD a link scanner would send.
    assert admin.client.head(confirm_links[1]).status_code == 200
    assert counts(session) == before


def test_send_me_a_test_sends_the_whole_sequence_to_the_organiser(admin, session, smtp, qs):
    before = counts(session)
    response = admin.post(f"/admin/vragensets/{qs.id}/test")
    assert response.status_code == 303
    kinds = testmail.kinds_available()
    per_day = sum(1 for kind in kinds if dict(testmail.SEQUENCE)[kind])
    expected = len(kinds) - per_day + per_day * len(qs.questions)
    assert f"{expected} testmails verstuurd naar {EMAIL}." in flashes(
        admin.get(response.headers["Location"]).text
    )

    messages = smtp.to(EMAIL)
    assert len(messages) == expected == len(smtp.messages)
    subjects = [str(m["Subject"]) for m in messages]
    assert all(s.startswith("[TEST] ") for s in subjects)
    assert "[TEST] Bevestig je aanmelding voor de MeldcodeQuiz" in subjects
    assert f"[TEST] Herhaalvraag: {qs.questions[0].title}" in subjects
    for question in qs.questions:
        assert any(
            f"Vraag {question.position} van {len(qs.questions)}: {question.title}" in s for s in subjects
        )
    for message in messages:
        assert message["X-MeldcodeQuiz-Test"] == "yes"
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert text.startswith("TEST: dit is een test voor organisatoren.")
    # An organiser is not a participant: no outbox rows, no participant.
    assert counts(session) == before


def test_a_refusing_mail_server_gives_a_dutch_message(admin, smtp, qs):
    smtp.refuse[EMAIL] = "550 5.1.1 No such user"
    response = admin.post(f"/admin/vragensets/{qs.id}/test")
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).text
    assert "De testmails konden niet worden verstuurd" in flashes(page)[0]


def test_the_sequence_grows_when_templates_for_more_kinds_land(tmp_path: Path):
    for kind in ("confirm", "question"):
        for suffix in (".subject.txt", ".txt", ".html"):
            (tmp_path / f"{kind}{suffix}").write_text("x", encoding="utf-8")
    assert testmail.kinds_available(str(tmp_path)) == ["confirm", "question"]
    for suffix in (".subject.txt", ".txt"):
        (tmp_path / f"summary{suffix}").write_text("x", encoding="utf-8")
    assert testmail.kinds_available(str(tmp_path)) == ["confirm", "question"]  # incomplete: not yet
    (tmp_path / "summary.html").write_text("x", encoding="utf-8")
    assert testmail.kinds_available(str(tmp_path)) == ["confirm", "question", "summary"]
    assert set(testmail.kinds_available()) <= {kind for kind, _ in testmail.SEQUENCE}
    assert {"confirm", "question"} <= set(testmail.kinds_available(str(TEMPLATE_DIR)))
