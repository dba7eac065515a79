"""Signup pages and confirm links that tell the truth (issue 19 item 7).

A campaign that has not opened yet said "Aanmelden is gesloten. De quiz is al
begonnen of voorbij"; an erased participant's confirm link said that it had
expired after 7 days. Every state has its own page; each is checked here.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import delete

from quiz.db import utcnow
from quiz.models import Participant
from quiz.rights import gdpr as rights
from tests.answer_factories import make_quiz
from tests.conftest import at
from tests.test_signup import confirm_link, send_all, sign_up

UNTRUE = "De quiz is al begonnen of voorbij"


def page_text(client, when: str) -> str:
    with time_machine.travel(at(when), tick=False):
        response = client.get("/")
    assert response.status_code == 200 and "<form" not in response.text
    return " ".join(response.text.split())


@pytest.mark.parametrize(
    ("mode", "now", "says"),
    [
        # Fixed start on Monday 16 November; signup closes Friday 13 November 17:00.
        ("fixed", "2026-11-14 10:00", [
            "Aanmelden is gesloten sinds vrijdag 13 november 2026 om 17:00 uur.",
            "De quiz begint op <strong>maandag 16 november 2026</strong>.",
            "Dan krijg je die dag om 07:30 uur de eerste vraag.",
        ]),
        # Someone who signed up at closing time and confirmed a week later
        # starts Monday 23 November: the quiz runs until Friday 27 November.
        ("fixed", "2026-11-18 12:00", [
            "Aanmelden is gesloten. De quiz is begonnen op maandag 16 november 2026 "
            "en loopt tot en met vrijdag 27 november 2026.",
        ]),
        ("fixed", "2026-11-30 09:00", [
            "Aanmelden is gesloten. De quiz is voorbij: de laatste quizdag was vrijdag 27 november 2026.",
        ]),
        ("rolling", "2026-11-14 10:00", [
            "Aanmelden is gesloten sinds vrijdag 13 november 2026 om 17:00 uur. "
            "Bedankt voor je belangstelling!",
        ]),
        ("rolling", "2026-12-01 09:00", [
            "De quiz is voorbij: de laatste quizdag was vrijdag 27 november 2026.",
        ]),
    ],
)  # fmt: skip
def test_a_closed_signup_says_what_is_true(client, session, mode, now, says):
    start = {"start_mode": "fixed", "start_date": date(2026, 11, 16)} if mode == "fixed" else {}
    make_quiz(session, at("2026-11-01 09:00"), signup_closes_at=at("2026-11-13 17:00"), **start)
    text = page_text(client, now)
    for sentence in says:
        assert sentence in text
    assert UNTRUE not in text


def test_a_campaign_not_open_yet_says_when_it_opens(client, session):
    make_quiz(
        session,
        at("2026-11-01 09:00"),
        start_mode="fixed",
        start_date=date(2026, 11, 16),
        signup_opens_at=at("2026-11-09 09:00"),
    )
    text = page_text(client, "2026-11-02 12:00")
    assert (
        "Aanmelden kan nog niet. Je kunt je aanmelden vanaf "
        "<strong>maandag 9 november 2026 om 09:00 uur</strong>."
        in text
    )
    assert UNTRUE not in text and "gesloten" not in text


# --- confirm links --------------------------------------------------------------


@pytest.fixture
def pending(app, client, session, smtp):
    """A signup waiting for confirmation, and its confirm link."""
    make_quiz(session, utcnow())
    sign_up(client)
    send_all(app)
    return session.query(Participant).one(), confirm_link(smtp.messages[0])


def become(session, participant: Participant, state: str) -> None:
    if state == "erased":
        rights.erase(session, participant, utcnow())
    elif state == "unsubscribed":
        rights.unsubscribe(session, participant, utcnow())
    elif state == "removed":  # the retention job removes unconfirmed signups
        session.execute(delete(Participant).where(Participant.id == participant.id))
        session.commit()
    else:
        participant.status = state
        session.commit()


STATES = {
    "erased": ("Je gegevens zijn gewist", True),
    "unsubscribed": ("Je bent afgemeld", False),
    "bounced": ("Onze e-mail kwam niet aan", False),
    "removed": ("Deze aanmelding bestaat niet meer", True),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("days_later", [1, 8])
def test_a_confirm_link_says_why_it_does_not_work(client, session, pending, state, days_later):
    participant, link = pending
    become(session, participant, state)
    title, signup_again = STATES[state]
    if state == "removed" and days_later == 8:
        title = "Deze bevestigingslink is verlopen"  # both true; the link's age is the rule people know
    with time_machine.travel(utcnow() + timedelta(days=days_later)):
        response = client.get(link)
    assert response.status_code == 410
    assert f"<h1>{title}</h1>" in response.text
    if state != "removed":
        assert "verlopen" not in response.text and "7 dagen" not in response.text
    assert ("Opnieuw aanmelden" in response.text) == signup_again


def test_an_old_link_of_a_confirmed_participant_says_they_take_part(app, client, session, pending):
    participant, link = pending
    assert client.post(link, data={"csrf_token": csrf_of(client, link)}).status_code == 303
    with time_machine.travel(utcnow() + timedelta(days=8)):
        response = client.get(link)
    assert response.status_code == 410
    assert "<h1>Je aanmelding is al bevestigd</h1>" in response.text and "verlopen" not in response.text


def test_an_unconfirmed_link_expires_after_the_configured_days(app, client, pending):
    _, link = pending
    app.config["QUIZ_TOKEN_MAX_AGE_DAYS"] = 3
    with time_machine.travel(utcnow() + timedelta(days=4)):
        response = client.get(link)
    assert response.status_code == 410
    assert "Een bevestigingslink is 3 dagen geldig." in response.text and "Opnieuw aanmelden" in response.text


def csrf_of(client, url: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).text).group(1)
