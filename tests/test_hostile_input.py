"""Names and organisations with line breaks, HTML, template syntax or great
length: stored safely, inert in emails and pages, never a header injection."""

from __future__ import annotations

import re

import pytest
import time_machine
from markupsafe import escape
from sqlalchemy import func, select

from quiz.models import Participant
from tests.answer_factories import links, make_quiz, send_question
from tests.conftest import at
from tests.test_signup import confirm_link, send_all, sign_up

HOSTILE_NAME = "Jan\r\nBcc: evil@example.com\r\n\r\n<b>vet</b>"
HOSTILE_ORG = "<script>alert(1)</script> {{ 7*7 }} {% if true %}ja{% endif %}"


@pytest.fixture
def campaign(session):
    campaign, _ = make_quiz(session, at("2026-11-16 07:30"))
    return campaign


def test_line_breaks_html_and_template_syntax_are_stored_as_text(client, session, smtp, campaign):
    assert (
        sign_up(client, email="jan@example.org", name=HOSTILE_NAME, organisation=HOSTILE_ORG).status_code
        == 303
    )
    participant = session.scalar(select(Participant))
    # One line, nothing interpreted: what was typed, with its line breaks as spaces.
    assert participant.name == "Jan Bcc: evil@example.com <b>vet</b>"
    assert participant.organisation == HOSTILE_ORG

    send_all(client.application)
    (message,) = smtp.messages
    assert message["Bcc"] is None and "evil@example.com" not in str(message["To"]).split("<")[-1]
    assert smtp.envelopes[0][1] == ["jan@example.org"]  # no extra recipient
    head = message.as_bytes().split(b"\n\n", 1)[0]
    assert not any(line.startswith(b"Bcc") for line in head.split(b"\n"))


def test_hostile_text_is_inert_in_emails_and_pages(app, client, session, smtp, campaign):
    sign_up(client, email="jan@example.org", name=HOSTILE_NAME, organisation=HOSTILE_ORG)
    send_all(app)
    client.post(
        confirm_link(smtp.messages[0]), data={"csrf_token": _csrf(client, confirm_link(smtp.messages[0]))}
    )
    participant = session.scalar(select(Participant))
    session.refresh(participant)
    assert participant.status == "active"
    participant.first_quiz_day = at("2026-11-16 07:30").date()
    session.commit()
    smtp.clear()
    send_question(app, session, participant, campaign.question_set.questions[0], at("2026-11-16 07:30"))
    (question_email,) = smtp.messages
    html = question_email.get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;vet&lt;/b&gt;" in html and "<b>vet</b>" not in html

    manage = next(link for link in links(question_email) if link.startswith("/mijn-quiz/"))
    with time_machine.travel(at("2026-11-16 12:00"), tick=False):
        page = client.get(manage.split("/vraag/")[0] + "/gegevens").text
    # Shown exactly as typed: escaped HTML, template syntax as plain text (no "49").
    cell = re.search(r'<th scope="row">Organisatie</th><td>(.*?)</td>', page).group(1)
    assert cell == str(escape(HOSTILE_ORG))
    assert "<script>alert" not in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "x" * 101, "Gebruik hooguit 100 tekens."),
        ("organisation", "x" * 151, "Gebruik hooguit 150 tekens."),
        ("role", "x" * 10_000, "Gebruik hooguit 100 tekens."),
        ("email", "a" * 250 + "@example.org", "Dit e-mailadres is te lang."),
        ("email", "jan@example.org\r\nBcc: evil@example.com", "Dit is geen geldig e-mailadres."),
    ],
)
def test_too_long_or_broken_values_are_refused_in_dutch(client, session, campaign, field, value, message):
    response = sign_up(client, **{field: value})
    assert response.status_code == 422
    assert message in response.text
    assert session.scalar(select(func.count()).select_from(Participant)) == 0


def _csrf(client, url: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).text).group(1)
