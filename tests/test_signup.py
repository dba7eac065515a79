"""Signup and double opt-in, as a participant experiences them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from quiz.db import utcnow
from quiz.delivery.sender import send_due
from quiz.models import Delivery, Participant
from tests.conftest import at
from tests.factories import make_campaign

VALID = {
    "email": "Jan.Jansen@Example.ORG",
    "name": "Jan Jansen",
    "organisation": "Basisschool De Linde",
    "sector": "onderwijs",
    "role": "leerkracht",
    "consent": "y",
}


def csrf_token(client, url: str = "/") -> str:
    page = client.get(url).text
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def sign_up(client, **overrides) -> object:
    data = {**VALID, "csrf_token": csrf_token(client), **overrides}
    return client.post("/", data={k: v for k, v in data.items() if v is not None})


def send_all(app) -> None:
    send_due(app, utcnow, "test")


def confirm_link(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://quiz\.test(/bevestig/\S+)", text).group(1)


@pytest.fixture
def campaign(session):
    return make_campaign(session, utcnow())


def test_form_shows_fields_in_dutch(client, campaign):
    page = client.get("/")
    assert page.status_code == 200
    for label in ("E-mailadres", "Organisatie", "Sector", "Functie (niet verplicht)", "privacyverklaring"):
        assert label in page.text
    for sector in (
        "Onderwijs",
        "Kinderopvang",
        "Jeugdhulp",
        "Gezondheidszorg",
        "Maatschappelijke ondersteuning",
        "Justitie",
        "Anders",
    ):
        assert f">{sector}</option>" in page.text


def test_signup_stores_pending_participant_and_sends_confirmation(app, client, session, smtp, campaign):
    response = sign_up(client)
    assert response.status_code == 303
    assert "Kijk in je e-mail" in client.get(response.headers["Location"]).text

    participant = session.scalars(select(Participant)).one()
    assert participant.status == "pending"
    assert participant.email == "Jan.Jansen@example.org"  # domain lower-cased, local part kept
    assert participant.consent_at is not None

    send_all(app)
    [message] = smtp.messages
    assert message["To"].addresses[0].addr_spec == "Jan.Jansen@example.org"
    assert "Bevestig je aanmelding" in message["Subject"]
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'style="' in html and "<style>" not in html  # CSS inlined
    delivery = session.scalars(select(Delivery)).one()
    assert delivery.status == "sent" and delivery.message_id == message["Message-ID"]


def test_confirm_get_changes_nothing_post_confirms(app, client, session, smtp, campaign):
    sign_up(client)
    send_all(app)
    link = confirm_link(smtp.messages[0])

    for _ in range(3):  # a link scanner fetching the page, more than once
        page = client.get(link)
        assert page.status_code == 200 and "Ja, ik doe mee" in page.text
        assert client.head(link).status_code == 200
    session.expire_all()
    assert session.scalars(select(Participant.status)).one() == "pending"

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    done = client.post(link, data={"csrf_token": token})
    assert done.status_code == 303
    welcome = client.get(done.headers["Location"])
    assert "Je doet mee!" in welcome.text and "De quiz begint op" in welcome.text
    session.expire_all()
    participant = session.scalars(select(Participant)).one()
    assert participant.status == "active" and participant.first_quiz_day is not None


def test_welcome_page_names_the_first_quiz_day(app, client, session, smtp):
    # Friday afternoon, rolling start: the quiz starts on Monday at 07:30.
    with time_machine.travel(at("2026-11-20 16:00"), tick=False):
        make_campaign(session, utcnow())
        sign_up(client)
        send_all(app)
        link = confirm_link(smtp.messages[0])
        token = csrf_token(client, link)
        welcome = client.get(client.post(link, data={"csrf_token": token}).headers["Location"])
    assert "maandag 23 november 2026" in welcome.text and "07:30" in welcome.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": ""}, "Vul je e-mailadres in."),
        ({"email": "jan@@example"}, "Dit is geen geldig e-mailadres"),
        ({"email": "a" * 290 + "@example.org"}, "Dit e-mailadres is te lang."),
        ({"consent": None}, "Geef toestemming"),
        ({"organisation": "  "}, "Vul de naam van je organisatie in."),
        ({"sector": "piraterij"}, "Kies je sector."),
        ({"csrf_token": ""}, "Het formulier is verlopen"),
    ],
)
def test_form_errors_are_dutch_and_store_nothing(client, session, campaign, overrides, message):
    response = sign_up(client, **overrides)
    assert response.status_code in (400, 422)
    assert message in response.text
    assert "Traceback" not in response.text
    assert session.scalar(select(func.count()).select_from(Participant)) == 0
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_same_answer_for_new_pending_and_active_addresses(app, client, session, smtp, campaign):
    """No account enumeration: the page is the same; the mail differs."""
    first = sign_up(client)
    again = sign_up(client)  # pending, within 10 minutes: no second email
    assert first.headers["Location"] == again.headers["Location"]
    send_all(app)
    assert len(smtp.messages) == 1

    with time_machine.travel(utcnow() + timedelta(minutes=11)):
        sign_up(client)
        send_all(app)
    assert len(smtp.messages) == 2 and "Bevestig" in smtp.messages[1]["Subject"]

    participant = session.scalars(select(Participant)).one()
    participant.status = "active"
    session.commit()
    with time_machine.travel(utcnow() + timedelta(minutes=30)):
        response = sign_up(client)
        send_all(app)
    assert response.headers["Location"] == first.headers["Location"]
    assert "Je doet al mee" in smtp.messages[-1]["Subject"]


def test_one_person_one_row_whatever_the_case(app, client, session, smtp, campaign):
    """Case.Test@, case.test@ and CASE.TEST@ are one person: one participant,
    one confirmation, to the spelling given first; signing up again in
    another case does what signing up again in the same case does."""
    spellings = ("Case.Test@example.org", "case.test@example.org", "CASE.TEST@EXAMPLE.ORG")
    for spelling in spellings:
        assert sign_up(client, email=spelling).status_code == 303
    send_all(app)
    assert session.scalars(select(Participant.email)).all() == ["Case.Test@example.org"]
    assert [rcpts for _, rcpts in smtp.envelopes] == [["Case.Test@example.org"]]

    # After the resend interval: a new confirmation, to the first spelling,
    # and the new details replace the old, as with the same spelling.
    with time_machine.travel(utcnow() + timedelta(minutes=11)):
        sign_up(client, email="cASE.tEST@example.org", name="C. Test")
        send_all(app)
    session.expire_all()
    participant = session.scalars(select(Participant)).one()
    assert (participant.email, participant.name) == ("Case.Test@example.org", "C. Test")
    assert [rcpts for _, rcpts in smtp.envelopes][1:] == [["Case.Test@example.org"]]
    assert "Bevestig" in smtp.messages[1]["Subject"]

    participant.status = "active"
    session.commit()
    with time_machine.travel(utcnow() + timedelta(minutes=30)):
        sign_up(client, email="case.test@example.org")
        send_all(app)
    assert session.scalar(select(func.count()).select_from(Participant)) == 1
    assert smtp.envelopes[-1][1] == ["Case.Test@example.org"]
    assert "Je doet al mee" in smtp.messages[-1]["Subject"]


def test_the_database_refuses_an_address_twice_in_any_case(session, campaign):
    """The rule holds in the database, not only in quiz.signup.participants: a second
    row for the same address in another case is refused (per campaign;
    erased rows, whose address is gone, do not count)."""
    from sqlalchemy.exc import IntegrityError

    from tests.factories import make_participant

    now = utcnow()
    make_participant(session, campaign, now, email="Anna.Bakker@example.org")
    with pytest.raises(IntegrityError):
        make_participant(session, campaign, now, email="anna.bakker@example.org")
    session.rollback()
    other = make_campaign(session, now, slug="andere")
    make_participant(session, other, now, email="anna.bakker@example.org")
    for _ in range(2):
        make_participant(session, campaign, now, email=None, status="erased")
    assert session.scalar(select(func.count()).select_from(Participant)) == 4


@pytest.mark.parametrize(
    ("mutate", "status", "text"),
    [
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), 400, "klopt niet"),
        (lambda t: "nonsense", 400, "klopt niet"),
        (lambda t: t.split(".")[0] + ".xx", 400, "klopt niet"),
    ],
)
def test_bad_confirm_tokens_get_a_friendly_page(app, client, smtp, campaign, mutate, status, text):
    sign_up(client)
    send_all(app)
    token = confirm_link(smtp.messages[0]).rsplit("/", 1)[1]
    response = client.get(f"/bevestig/{mutate(token)}")
    assert response.status_code == status
    assert text in response.text and "Opnieuw aanmelden" in response.text


def test_expired_confirm_token_is_410(app, client, smtp, campaign):
    sign_up(client)
    send_all(app)
    link = confirm_link(smtp.messages[0])
    with time_machine.travel(utcnow() + timedelta(days=8)):
        response = client.get(link)
    assert response.status_code == 410 and "verlopen" in response.text


def test_signup_window(client, session):
    now = utcnow()
    make_campaign(session, now, signup_opens_at=now + timedelta(days=2))
    page = client.get("/")
    assert "Aanmelden kan nog niet" in page.text and "<form" not in page.text
    assert sign_up_closed(client, session, now)


def sign_up_closed(client, session, now) -> bool:
    from quiz.models import Campaign

    campaign = session.scalars(select(Campaign)).one()
    campaign.signup_opens_at = None
    campaign.signup_closes_at = now - timedelta(minutes=1)
    session.commit()
    page = client.get("/")
    return "Aanmelden is gesloten" in page.text and "<form" not in page.text


def test_dev_mailbox_only_in_dev_mode(client):
    assert client.get("/dev/mailbox/").status_code == 404


@pytest.mark.parametrize("payload", [2**40, -1, "1", [1], None])
def test_a_signed_token_with_an_impossible_id_is_a_friendly_page(app, client, payload):
    """Even a correctly signed token (only possible with the secret key) never
    causes a 500: a payload we never sign makes the link invalid, as for
    every other kind of link."""
    from quiz.links import sign

    with app.app_context():
        token = sign("confirm", payload)
    response = client.get(f"/bevestig/{token}")
    assert response.status_code == 400 and "klopt niet" in response.text
    assert "Opnieuw aanmelden" in response.text
