"""Unsubscribe: the footer link and RFC 8058 one-click, through real emails."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from quiz.db import utcnow
from quiz.delivery.outbox import enqueue
from quiz.delivery.sender import send_due
from quiz.models import Delivery, Participant
from quiz.signup import participants
from tests.answer_factories import links, make_players, make_quiz, send_question
from tests.conftest import at

MONDAY = at("2026-11-16 07:30")
BASE = "https://meldcodequiz.test"


@pytest.fixture
def app_config(app_config):
    app_config["QUIZ_BASE_URL"] = BASE  # RFC 8058 wants an https address
    return app_config


@pytest.fixture
def sanne(app, session, smtp):
    # Her quiz and its emails (their links signed) on that Monday …
    with time_machine.travel(MONDAY, tick=False):
        campaign, qs = make_quiz(session, MONDAY)
        (sanne,) = make_players(session, campaign, MONDAY, 1)
        send_question(app, session, sanne, qs.questions[0], MONDAY)
        # Tomorrow's question is already in the outbox, waiting.
        enqueue(
            session,
            participant_id=sanne.id,
            kind="question",
            day=2,
            question_id=qs.questions[1].id,
            due_at=at("2026-11-17 07:30"),
            now=MONDAY,
        )
        session.commit()
    # … and the tests a few weeks later, whatever the date the suite runs on:
    # the quiz is over, her links to Mijn quiz and to unsubscribe still work.
    with time_machine.travel(at("2026-12-04 12:00"), tick=True):
        yield sanne


def unsubscribe_path(message) -> str:
    return next(link for link in links(message) if link.startswith("/afmelden/"))


def statuses(session, participant_id: int) -> dict[int, str]:
    session.expire_all()
    rows = session.execute(
        select(Delivery.day, Delivery.status).where(Delivery.participant_id == participant_id)
    )
    return {day: status for day, status in rows}


def test_question_email_carries_one_click_headers_and_footer_links(smtp, sanne):
    (message,) = smtp.to("collega0@example.org")
    # A long value is folded onto a continuation line (RFC 5322), hence strip().
    url = message["List-Unsubscribe"].strip()
    assert url.startswith(f"<{BASE}/afmelden/") and url.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    # The same link in the header, the text footer and the HTML footer.
    assert f"Meld je af: {url[1:-1]}" in text
    assert f'<a href="{url[1:-1]}"' in html and ">Afmelden</a>" in html


def test_confirmation_email_has_no_unsubscribe(app, session, smtp):
    from tests.factories import make_campaign

    campaign = make_campaign(session, MONDAY)
    data = participants.SignupData("nieuw@example.org", None, "School", "onderwijs", None)
    participants.register(session, campaign, data, MONDAY, timedelta(minutes=10))
    send_due(app, lambda: MONDAY, "test")
    (message,) = smtp.to("nieuw@example.org")
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    assert "/afmelden/" not in message.as_string()


def test_get_and_head_change_nothing(client, session, smtp, sanne):
    path = unsubscribe_path(smtp.messages[0])
    page = client.get(path)
    assert page.status_code == 200
    assert "Ja, meld mij af" in page.text and 'method="post"' in page.text
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert client.head(path).status_code == 200
    session.refresh(sanne)
    assert sanne.status == "active"
    assert statuses(session, sanne.id) == {1: "sent", 2: "pending"}


def test_one_click_post_without_session_or_csrf_unsubscribes_and_cancels(app, session, smtp, sanne):
    path = unsubscribe_path(smtp.messages[0])
    client = app.test_client()  # a mail program: no cookie, no CSRF token, only the signed URL
    response = client.post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "Je bent afgemeld" in response.text
    session.refresh(sanne)
    assert sanne.status == "unsubscribed"
    assert statuses(session, sanne.id) == {1: "sent", 2: "cancelled"}

    # Idempotent: the mail program may retry; same answer, nothing else changes.
    changed_at = sanne.status_changed_at
    again = client.post(path, data="List-Unsubscribe=One-Click", content_type="multipart/form-data")
    assert again.status_code == 200 and "Je bent afgemeld" in again.text
    session.refresh(sanne)
    assert (sanne.status, sanne.status_changed_at) == ("unsubscribed", changed_at)

    # Nothing goes out afterwards, not even what was already due.
    smtp.clear()
    with time_machine.travel(at("2026-11-17 08:00"), tick=False):
        report = send_due(app, lambda: at("2026-11-17 08:00"), "test")
    assert smtp.messages == [] and report.sent == 0
    # And the page for a GET now says so instead of offering the button again.
    assert "Ja, meld mij af" not in client.get(path).text


def test_the_planner_plans_nothing_for_an_unsubscribed_participant(app, session, smtp, sanne):
    from quiz.delivery.sender import plan_due

    app.test_client().post(unsubscribe_path(smtp.messages[0]))
    plan_due(app, at("2026-11-18 07:30"))
    assert statuses(session, sanne.id) == {1: "sent", 2: "cancelled"}


@pytest.mark.parametrize("tamper", ["cut", "swap", "foreign"])
def test_a_damaged_or_foreign_link_is_refused_in_dutch(client, session, smtp, sanne, tamper):
    path = unsubscribe_path(smtp.messages[0])
    token = path.rsplit("/", 1)[1]
    answer_token = next(link for link in links(smtp.messages[0]) if link.startswith("/a/")).rsplit("/", 1)[1]
    bad = {
        "cut": token[:-3],
        # One character of the signature changed, not the last: the last base64
        # character carries padding bits, and changing only those names the same link.
        "swap": token[:-5] + ("A" if token[-5] != "A" else "g") + token[-4:],
        "foreign": answer_token,
    }
    response = client.post(f"/afmelden/{bad[tamper]}")
    assert response.status_code == 400
    assert "Deze afmeldlink klopt niet" in response.text
    session.refresh(sanne)
    assert sanne.status == "active"


ONE_CLICK = {"data": "List-Unsubscribe=One-Click", "content_type": "application/x-www-form-urlencoded"}


def test_an_expired_link_says_so_and_claims_nothing(app, session, smtp, sanne):
    """Older than the links' 400 days: not "Je bent afgemeld" while she
    stays active, but what is true: this link did nothing, and where a link
    that works is. The same for the mail program's one-click POST."""
    path = unsubscribe_path(smtp.messages[0])
    client = app.test_client()
    with time_machine.travel(utcnow() + timedelta(days=401), tick=False):
        page, one_click = client.get(path), client.post(path, **ONE_CLICK)
    for response in (page, one_click):
        assert response.status_code == 410
        assert "Deze afmeldlink is te oud" in response.text
        assert "niet afgemeld" in response.text and "nieuwste e-mail" in response.text
        assert "Je bent afgemeld" not in response.text and "Ja, meld mij af" not in response.text
    session.refresh(sanne)
    assert sanne.status == "active"
    assert statuses(session, sanne.id) == {1: "sent", 2: "pending"}


def set_status(session, participant, status: str) -> None:
    participant.status = status
    if status == "erased":
        participant.email = participant.name = participant.organisation = None
    session.commit()


# (status before, what the GET page says, is the button there, status after the
# POST, what the POST's page says). "Je krijgt geen e-mails meer" is said only
# where it is true, and for the campaign whose link it is.
STATES = [
    ("active", "Afmelden voor de MeldcodeQuiz", True, "unsubscribed", "Je bent afgemeld"),
    ("completed", "Afmelden voor de MeldcodeQuiz", True, "unsubscribed", "Je bent afgemeld"),
    ("pending", "Afmelden voor de MeldcodeQuiz", True, "unsubscribed", "Je bent afgemeld"),
    # A bounce is not an unsubscribe: an organiser may retry the address
    # (quiz outbox retry), so pressing the button must record the wish.
    ("bounced", "kwam niet aan", True, "unsubscribed", "Je bent afgemeld"),
    ("unsubscribed", "Je bent al afgemeld", False, "unsubscribed", "Je bent afgemeld"),
    ("erased", "Je gegevens zijn gewist", False, "erased", "Je gegevens zijn gewist"),
]


@pytest.mark.parametrize(("before", "page_says", "button", "after", "done_says"), STATES)
def test_every_state_of_the_page_tells_the_truth(
    app, session, smtp, sanne, before, page_says, button, after, done_says
):
    path = unsubscribe_path(smtp.messages[0])
    set_status(session, sanne, before)
    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 200 and page_says in page.text
    assert ("Ja, meld mij af" in page.text) is button
    if before != "bounced":
        assert "kwam niet aan" not in page.text
    assert ("afgemeld" in page.text.split("</h1>")[0]) is (before == "unsubscribed")
    done = client.post(path, **ONE_CLICK)
    assert done.status_code == 200 and done_says in done.text
    if after == "erased":
        assert "afgemeld" not in done.text
    assert "Je krijgt geen e-mails meer voor MeldcodeQuiz test" in done.text
    session.refresh(sanne)
    assert sanne.status == after
    assert statuses(session, sanne.id)[2] == "cancelled"


def test_link_for_a_participant_removed_since_says_so(app, client, session, smtp, sanne):
    """A genuine link whose participant row is gone: nothing to unsubscribe,
    and the page says that, not "Je bent afgemeld"."""
    path = unsubscribe_path(smtp.messages[0])
    session.delete(session.get(Participant, sanne.id))
    session.commit()
    for response in (client.get(path), client.post(path, **ONE_CLICK)):
        assert response.status_code == 410
        assert "Deze aanmelding bestaat niet meer" in response.text
        assert "Je bent afgemeld" not in response.text


def test_my_data_says_afgemeld_only_when_so(client, session, smtp, sanne):
    my_data = next(link for link in links(smtp.messages[0]) if link.startswith("/mijn-quiz/"))
    my_data = my_data.split("/vraag/")[0] + "/gegevens"
    set_status(session, sanne, "bounced")
    page = client.get(my_data).text
    assert "Je bent afgemeld" not in page and "Meld mij af" in page and "kwam niet aan" in page
    assert "bounced" not in page  # the status in Dutch
    set_status(session, sanne, "unsubscribed")
    page = client.get(my_data).text
    assert "Je bent afgemeld" in page and "Meld mij af" not in page


def test_unsubscribed_participant_can_still_reach_my_data(client, session, smtp, sanne):
    response = client.post(unsubscribe_path(smtp.messages[0]))
    my_data = next(link for link in links(smtp.messages[0]) if link.startswith("/mijn-quiz/"))
    assert "/gegevens" in response.text
    assert client.get(my_data.split("/vraag/")[0] + "/gegevens").status_code == 200
