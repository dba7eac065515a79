"""DKIM signatures (quiz.delivery.dkim), checked with dkimpy's verifier against the public key."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from quiz.delivery.dkim import DKIMSigner, signer_from_config
from quiz.delivery.mail_templates import RenderedEmail
from quiz.delivery.mailer import Envelope, build_message


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path, key):
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def dns_for(key: rsa.RSAPrivateKey, selector: str = "quiz2026", domain: str = "meldcodequiz.test"):  # noqa: ANN201
    """A DNS lookup that knows one DKIM record: the one an operator publishes."""
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{selector}._domainkey.{domain}.".encode() else None

    return lookup


def message() -> bytes:
    return build_message(
        RenderedEmail(
            "Vraag 1 van 5: wat doe je eerst?", "Goedemorgen Anna,\n\nDe vraag van vandaag.\n", "<p>Hoi</p>"
        ),
        Envelope(
            "anna@example.org",
            "Anna de Vries",
            "<quiz.1.question.1@meldcodequiz.test>",
            {
                "List-Unsubscribe": "<https://quiz.test/afmelden/abc.def>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        ),
        "MeldcodeQuiz <quiz@meldcodequiz.test>",
        datetime(2026, 11, 16, 6, 30, tzinfo=UTC),
    )


def signature_tags(signed: bytes) -> dict[str, str]:
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    value = header.split("DKIM-Signature:", 1)[1].split("\r\nFrom:", 1)[0]
    value = "".join(value.split())
    return dict(tag.split("=", 1) for tag in value.split(";") if tag)


def test_signature_verifies_and_covers_the_headers_that_matter(key, key_file):
    original = message()
    signed = DKIMSigner(key_file, "quiz2026", "meldcodequiz.test").sign(original)
    # The signature goes in front; the message itself is untouched.
    assert signed.startswith(b"DKIM-Signature: ") and signed.endswith(b"\r\n" + original)
    assert dkim.verify(signed, dnsfunc=dns_for(key))
    tags = signature_tags(signed)
    assert (tags["d"], tags["s"], tags["a"], tags["c"]) == (
        "meldcodequiz.test",
        "quiz2026",
        "rsa-sha256",
        "relaxed/relaxed",
    )
    signed_headers = tags["h"].split(":")
    for name in ("from", "subject", "list-unsubscribe", "list-unsubscribe-post", "to", "date", "message-id"):
        assert name in signed_headers


@pytest.mark.parametrize(
    "change",
    [
        (b"Subject: Vraag 1 van 5", b"Subject: Vraag 2 van 5"),
        (b"afmelden/abc.def", b"afmelden/evil.def"),
        (b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Other"),
        (b"From: MeldcodeQuiz", b"From: Phisher"),
        (b"De vraag van vandaag", b"Een andere vraag"),
    ],
)
def test_a_changed_header_or_body_breaks_the_signature(key, key_file, change):
    signed = DKIMSigner(key_file, "quiz2026", "meldcodequiz.test").sign(message())
    assert change[0] in signed
    assert not dkim.verify(signed.replace(*change), dnsfunc=dns_for(key))


def test_a_header_added_later_breaks_the_signature(key, key_file):
    # List-Id is signed as absent: nobody can add one on the way.
    signed = DKIMSigner(key_file, "quiz2026", "meldcodequiz.test").sign(message())
    head, body = signed.split(b"\r\n\r\n", 1)
    assert not dkim.verify(head + b"\r\nList-Id: <spam.example>\r\n\r\n" + body, dnsfunc=dns_for(key))


def test_relay_whitespace_changes_survive(key, key_file):
    signed = DKIMSigner(key_file, "quiz2026", "meldcodequiz.test").sign(message())
    assert dkim.verify(signed.replace(b"Subject: Vraag", b"Subject:   Vraag"), dnsfunc=dns_for(key))


def test_config_needs_selector_and_domain_and_an_rsa_key(key_file, tmp_path):
    assert signer_from_config({"QUIZ_DKIM_KEY_FILE": None}) is None
    with pytest.raises(ValueError, match="QUIZ_DKIM_SELECTOR and QUIZ_DKIM_DOMAIN"):
        signer_from_config({"QUIZ_DKIM_KEY_FILE": str(key_file), "QUIZ_DKIM_SELECTOR": "s"})
    ec_key = tmp_path / "ec.pem"
    ec_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="not an RSA private key"):
        DKIMSigner(ec_key, "s", "d.test")
