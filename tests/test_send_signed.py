"""The send path with DKIM and VERP: a question email sent through the outbox to
the real SMTP server carries a valid DKIM signature over its final bytes and
a signed per-delivery envelope sender, and a later bounce to that address
reaches the participant's record."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from quiz.delivery.bounces import delivery_ids, process, verp_address
from quiz.models import Delivery, Participant
from tests.answer_factories import make_quiz, send_question
from tests.conftest import at
from tests.factories import make_participant

NOW = at("2026-11-16 07:30")
BOUNCES = "bounces@meldcodequiz.test"
DSN = Path(__file__).parent / "data" / "dsn"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def dns_record(key: rsa.RSAPrivateKey):  # noqa: ANN201
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return lambda name, timeout=5: record if name == b"quiz2026._domainkey.meldcodequiz.test." else None


@pytest.fixture
def signed_config(app_config, tmp_path, key):
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    app_config.update(
        QUIZ_MAIL_FROM="MeldcodeQuiz <quiz@meldcodequiz.test>",
        QUIZ_DKIM_KEY_FILE=str(path),
        QUIZ_DKIM_SELECTOR="quiz2026",
        QUIZ_DKIM_DOMAIN="meldcodequiz.test",
        QUIZ_BOUNCE_ADDRESS=BOUNCES,
    )
    return app_config


def send_one(app, session):
    campaign, qs = make_quiz(session, NOW - timedelta(days=3))
    anna = make_participant(session, campaign, NOW - timedelta(days=3), email="anna@example.org", name="Anna")
    send_question(app, session, anna, qs.questions[0], NOW)
    delivery = session.scalar(select(Delivery).where(Delivery.participant_id == anna.id))
    return anna, delivery


def test_question_email_is_dkim_signed_and_has_a_signed_envelope_sender(
    signed_config, app, session, smtp, key
):
    anna, delivery = send_one(app, session)
    assert delivery.status == "sent"
    (raw,) = smtp.raw
    (envelope,) = smtp.envelopes
    # VERP: this delivery's own, signed bounce address.
    assert envelope == (verp_address(delivery.id, BOUNCES, "test-secret"), ["anna@example.org"])
    assert delivery_ids([envelope[0]], BOUNCES, ["test-secret"]) == {delivery.id}
    # DKIM over the bytes the relay received, with the unsubscribe headers signed.
    assert raw.startswith(b"DKIM-Signature: ")
    assert dkim.verify(raw, dnsfunc=dns_record(key))
    signed = dkim.DKIM(raw)
    signed.verify(dnsfunc=dns_record(key))
    names = {h.lower() for h in signed.include_headers}
    assert {b"from", b"subject", b"list-unsubscribe", b"list-unsubscribe-post"} <= names
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
    # The participant's client sees the quiz's From, not the bounce address.
    (message,) = smtp.messages
    assert message["From"] == "MeldcodeQuiz <quiz@meldcodequiz.test>"


def test_a_later_bounce_to_the_envelope_sender_reaches_the_participant(signed_config, app, session, smtp):
    anna, delivery = send_one(app, session)
    verp = smtp.envelopes[0][0]
    text = (
        (DSN / "postfix-hard.eml")
        .read_text()
        .replace("@@VERP@@", verp)
        .replace("@@RCPT@@", "anna@example.org")
    )
    outcome = process(session, text.replace("\n", "\r\n").encode(), app.config, NOW + timedelta(minutes=5))
    assert (outcome.result, outcome.delivery_id) == ("hard", delivery.id)
    session.expire_all()
    assert session.get(Participant, anna.id).status == "bounced"
    assert session.get(Delivery, delivery.id).status == "failed"


def test_without_the_settings_mail_is_unsigned_from_the_plain_sender(app, session, smtp):
    send_one(app, session)
    (raw,) = smtp.raw
    assert b"DKIM-Signature" not in raw.split(b"\r\n\r\n", 1)[0]
    assert smtp.envelopes[0][0] == "quiz@meldcodequiz.localhost"
