"""Every real address gets its mail (issue 17, item 6), end to end: signup on
the web, the sender, the real aiosmtpd server on loopback; then the message
as the server received it, parsed as a mail program parses it.

- IDN domains go as punycode (A-labels) in the envelope and in To:.
- A UTF-8 local part (jörg@) goes with SMTPUTF8 when QUIZ_SMTPUTF8 says the
  relay offers it; without the setting, signup refuses it in Dutch.
- Names in any script are RFC 2047 encoded: the header on the wire is ASCII,
  and the mail program shows the name as typed.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from quiz.db import utcnow
from quiz.delivery.outbox import enqueue
from quiz.delivery.sender import send_due
from quiz.models import Delivery, Participant
from tests.factories import make_campaign, make_participant
from tests.test_signup import VALID, csrf_token


@pytest.fixture
def campaign(session):
    return make_campaign(session, utcnow())


def sign_up(client, email: str, name: str | None = "Jan Jansen"):  # noqa: ANN201
    data = {**VALID, "email": email, "name": name, "csrf_token": csrf_token(client)}
    return client.post("/", data={k: v for k, v in data.items() if v is not None})


def send(app):  # noqa: ANN201
    now = utcnow()
    return send_due(app, lambda: now, "test")


def to_line(raw: bytes) -> bytes:
    """The To header as it went over the wire, unfolded."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    match = re.search(rb"^To:(.*?)\r\n(?![ \t])", head, re.M | re.S)
    assert match, head
    return match.group(1).replace(b"\r\n", b"")


def confirm_links(message) -> tuple[list[str], list[str]]:  # noqa: ANN001
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    pattern = r"http://quiz\.test/bevestig/[\w.-]+"
    return re.findall(pattern, text), re.findall(pattern, html)


@pytest.fixture
def smtputf8_on(app_config):
    """The operator has set QUIZ_SMTPUTF8 (quiz check confirms the relay offers it)."""
    app_config["QUIZ_SMTPUTF8"] = True


def test_a_utf8_local_part_goes_with_smtputf8_when_the_relay_offers_it(
    smtputf8_on, app, client, session, smtp, campaign
):
    smtp.smtputf8 = True
    assert sign_up(client, "jörg@example.org", "Jörg Müller").status_code == 303
    report = send(app)
    assert (report.sent, report.failed, report.deferred) == (1, 0, 0), report.errors
    (envelope,) = smtp.envelopes
    assert envelope[1] == ["jörg@example.org"]
    assert "SMTPUTF8" in [o.upper() for o in smtp.mail_options[0]]
    (message,) = smtp.messages
    (address,) = message["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Jörg Müller", "jörg@example.org")
    text_links, html_links = confirm_links(message)
    assert text_links and set(html_links) == set(text_links)
    assert session.scalar(select(Participant.status)) == "pending"  # not bounced


@pytest.mark.parametrize("relay_smtputf8", [False, True], ids=["relay-ascii", "relay-smtputf8"])
def test_an_idn_domain_goes_as_punycode(app, client, session, smtp, campaign, relay_smtputf8):
    smtp.smtputf8 = relay_smtputf8
    assert sign_up(client, "idn@bücher.de").status_code == 303
    assert session.scalar(select(Participant.email)) == "idn@bücher.de"  # stored as typed
    report = send(app)
    assert (report.sent, report.failed, report.deferred) == (1, 0, 0), report.errors
    assert smtp.envelopes[0][1] == ["idn@xn--bcher-kva.de"]
    assert "SMTPUTF8" not in [o.upper() for o in smtp.mail_options[0]]  # an ASCII message
    raw_to = to_line(smtp.raw[0])
    assert raw_to.isascii() and b"<idn@xn--bcher-kva.de>" in raw_to
    (address,) = smtp.messages[0]["To"].addresses
    assert address.addr_spec == "idn@xn--bcher-kva.de"
    text_links, html_links = confirm_links(smtp.messages[0])
    assert text_links and set(html_links) == set(text_links)


NAMES = [
    "Jörg Müller",
    "Ὀδυσσεύς Παπαδόπουλος",
    "张伟",
    "محمد العلي",
    "Zoë 🙂 van der Berg-de Vries met een heel lange achternaam die niet op één regel past",
    'Jansen, "Piet"',
    "Ñandú Pérez",
]


@pytest.mark.parametrize("name", NAMES)
def test_names_in_any_script_are_encoded_per_rfc_2047(app, client, session, smtp, campaign, name):
    assert sign_up(client, "deelnemer@example.org", name).status_code == 303
    report = send(app)
    assert (report.sent, report.failed, report.deferred) == (1, 0, 0), report.errors
    raw_to = to_line(smtp.raw[0])
    assert raw_to.isascii()  # encoded words, no raw UTF-8 without SMTPUTF8
    assert "SMTPUTF8" not in [o.upper() for o in smtp.mail_options[0]]
    (address,) = smtp.messages[0]["To"].addresses
    assert (address.display_name, address.addr_spec) == (name, "deelnemer@example.org")
    assert session.scalar(select(Participant.status)) == "pending"


def test_without_smtputf8_signup_refuses_a_utf8_local_part_in_dutch(app, client, session, smtp, campaign):
    assert not app.config["QUIZ_SMTPUTF8"]  # the default
    response = sign_up(client, "jörg@example.org")
    assert response.status_code == 422
    assert "vóór de @" in response.text
    assert session.scalar(select(func.count()).select_from(Participant)) == 0
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    # An IDN domain with an ASCII local part needs no SMTPUTF8: it is welcome.
    assert sign_up(client, "idn@bücher.de").status_code == 303


def test_a_stored_utf8_address_fails_without_bouncing_when_the_relay_lacks_smtputf8(
    app, session, smtp, campaign
):
    """Signed up while the setting was on, say, and the relay changed since:
    the message fails with the reason, and nobody is marked bounced."""
    now = utcnow()
    person = make_participant(session, campaign, now, email="jörg@example.org", status="pending")
    enqueue(session, participant_id=person.id, kind="confirm", due_at=now, now=now)
    session.commit()
    report = send(app)
    assert (report.sent, report.failed) == (0, 1)
    session.expire_all()
    delivery = session.scalar(select(Delivery))
    assert delivery.status == "failed" and "SMTPUTF8" in delivery.last_error
    assert session.get(Participant, person.id).status == "pending"
    assert smtp.messages == []


@pytest.fixture
def dev_mailbox(app_config):
    app_config.update(QUIZ_MAIL_BACKEND="dev", QUIZ_SMTPUTF8=True)


def test_the_dev_mailbox_shows_an_international_message(dev_mailbox, app, client, session, campaign):
    assert sign_up(client, "jörg@bücher.de", "Jörg Müller").status_code == 303
    assert send(app).sent == 1
    index = client.get("/dev/mailbox/").text
    assert "Jörg Müller &lt;jörg@xn--bcher-kva.de&gt;" in index
    key = re.search(r'href="/dev/mailbox/([^"/]+)"', index).group(1)
    page = client.get(f"/dev/mailbox/{key}").text
    assert "Bevestig je aanmelding" in page and "/bevestig/" in page
    assert "/bevestig/" in client.get(f"/dev/mailbox/{key}/html").text
