"""Bounces after the relay accepted a message: DSN parsing (real Postfix and
Exchange formats), signed VERP addresses, and the hard/soft rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from quiz.delivery import dsn
from quiz.delivery.bounces import delivery_ids, process, verp_address
from quiz.models import Delivery, Participant
from tests.answer_factories import make_quiz
from tests.conftest import at
from tests.factories import make_participant

DATA = Path(__file__).parent / "data" / "dsn"
BOUNCE_ADDRESS = "bounces@meldcodequiz.test"
KEY = "test-secret"
NOW = at("2026-11-21 09:00")


def dsn_bytes(name: str, delivery_id: int = 1, rcpt: str = "anna@example.org", key: str = KEY) -> bytes:
    text = (DATA / name).read_text()
    text = text.replace("@@VERP@@", verp_address(delivery_id, BOUNCE_ADDRESS, key)).replace("@@RCPT@@", rcpt)
    return text.replace("\n", "\r\n").encode()


@pytest.mark.parametrize(
    "name, kind, status",
    [
        ("postfix-hard.eml", "hard", "5.1.1"),
        ("postfix-soft.eml", "soft", "4.2.2"),
        ("postfix-delayed.eml", "delayed", "4.4.1"),
        ("exchange-hard.eml", "hard", "5.1.10"),
        ("exchange-soft.eml", "soft", "4.4.7"),
    ],
)
def test_real_dsns_parse_to_a_verdict_and_our_delivery(name, kind, status):
    notification = dsn.parse(dsn_bytes(name, delivery_id=42))
    assert notification is not None
    assert [r.recipient for r in notification.results] == ["anna@example.org"]
    verdict = dsn.classify(notification)
    assert (verdict.kind, verdict.status) == (kind, status)
    assert delivery_ids(notification.addresses, BOUNCE_ADDRESS, [KEY]) == {42}


def test_diagnostics_are_kept_for_the_operator():
    verdict = dsn.classify(dsn.parse(dsn_bytes("exchange-hard.eml")))
    assert verdict.diagnostic.startswith("550 5.1.10 RESOLVER.ADR.RecipientNotFound")
    postfix = dsn.classify(dsn.parse(dsn_bytes("postfix-hard.eml")))
    assert "User unknown in virtual mailbox table" in postfix.diagnostic  # folded line unfolded


def test_the_original_message_id_is_read_from_full_and_header_only_returns():
    assert (
        dsn.parse(dsn_bytes("postfix-hard.eml")).original_message_id
        == "<quiz.1.question.1@meldcodequiz.test>"
    )
    assert (
        dsn.parse(dsn_bytes("exchange-soft.eml")).original_message_id
        == "<quiz.3.question.3@meldcodequiz.test>"
    )


def test_an_out_of_office_reply_is_not_a_dsn():
    assert dsn.parse(dsn_bytes("autoreply.eml")) is None


def test_verp_signatures_cannot_be_forged_and_survive_key_rotation():
    address = verp_address(7, BOUNCE_ADDRESS, KEY)
    assert address.startswith("bounces+7.") and address.endswith("@meldcodequiz.test")
    forged = address.replace("bounces+7.", "bounces+8.")
    assert delivery_ids([forged], BOUNCE_ADDRESS, [KEY]) == set()
    assert delivery_ids([address.upper()], BOUNCE_ADDRESS, [KEY]) == {7}  # some MTAs upper-case
    assert delivery_ids([address], BOUNCE_ADDRESS, ["new-key", KEY]) == {7}
    assert delivery_ids([address], BOUNCE_ADDRESS, ["other-key"]) == set()
    assert delivery_ids([f"xbounces+7.{address.split('.')[1]}"], BOUNCE_ADDRESS, [KEY]) == set()


# --- recording ---------------------------------------------------------------


@pytest.fixture
def cfg(app):
    app.config.update(QUIZ_BOUNCE_ADDRESS=BOUNCE_ADDRESS)
    return app.config


@pytest.fixture
def anna(session):
    campaign, _ = make_quiz(session, NOW - timedelta(days=10))
    anna = make_participant(session, campaign, NOW - timedelta(days=10), email="anna@example.org")
    for day in range(1, 6):
        session.add(
            Delivery(
                participant=anna,
                kind="question",
                day=day,
                due_at=NOW - timedelta(days=6 - day),
                status="sent" if day < 5 else "pending",
                sent_at=NOW - timedelta(days=6 - day) if day < 5 else None,
                created_at=NOW,
            )
        )
    session.commit()
    return anna


def deliveries(session, participant):
    session.expire_all()
    return list(
        session.scalars(
            select(Delivery).where(Delivery.participant_id == participant.id).order_by(Delivery.day)
        )
    )


def test_a_hard_bounce_fails_the_delivery_bounces_the_participant_and_cancels_the_rest(session, cfg, anna):
    day1 = deliveries(session, anna)[0]
    outcome = process(session, dsn_bytes("postfix-hard.eml", day1.id), cfg, NOW)
    assert (outcome.result, outcome.delivery_id) == ("hard", day1.id)
    rows = deliveries(session, anna)
    assert (rows[0].status, rows[0].bounce_type, rows[0].bounce_status) == ("failed", "hard", "5.1.1")
    assert "User unknown" in rows[0].last_error
    assert rows[4].status == "cancelled"  # day 5 never goes out
    assert [r.status for r in rows[1:4]] == ["sent"] * 3  # history stays
    assert session.get(Participant, anna.id).status == "bounced"
    # The same DSN read again changes nothing.
    assert process(session, dsn_bytes("postfix-hard.eml", day1.id), cfg, NOW).result == "duplicate"


def test_soft_bounces_count_and_three_in_a_row_are_hard(session, cfg, anna):
    rows = deliveries(session, anna)
    assert process(session, dsn_bytes("postfix-soft.eml", rows[1].id), cfg, NOW).result == "soft"
    assert process(session, dsn_bytes("postfix-soft.eml", rows[1].id), cfg, NOW).result == "duplicate"
    assert process(session, dsn_bytes("exchange-soft.eml", rows[2].id), cfg, NOW).result == "soft"
    rows = deliveries(session, anna)
    assert [r.bounce_type for r in rows] == [None, "soft", "soft", None, None]
    assert rows[1].status == "sent" and "Mailbox full" in rows[1].last_error
    assert session.get(Participant, anna.id).status == "active"
    # The third in a row (days 2, 3, 4): given up on, like a hard bounce.
    assert process(session, dsn_bytes("postfix-soft.eml", rows[3].id), cfg, NOW).result == "soft-to-hard"
    rows = deliveries(session, anna)
    assert rows[3].status == "failed" and rows[3].last_error.startswith("3 soft bounces in a row")
    assert rows[4].status == "cancelled"
    assert session.get(Participant, anna.id).status == "bounced"


def test_a_delivered_message_in_between_breaks_the_row(session, cfg, anna):
    rows = deliveries(session, anna)
    for row in (rows[0], rows[1], rows[3]):  # day 3 came through
        assert process(session, dsn_bytes("postfix-soft.eml", row.id), cfg, NOW).result == "soft"
    assert session.get(Participant, anna.id).status == "active"


def test_delays_forgeries_and_other_mail_change_nothing(session, cfg, anna):
    day1 = deliveries(session, anna)[0]
    assert process(session, dsn_bytes("postfix-delayed.eml", day1.id), cfg, NOW).result == "delayed"
    forged = dsn_bytes("postfix-hard.eml", day1.id, key="attacker-guess")
    assert process(session, forged, cfg, NOW).result == "unknown"
    assert process(session, dsn_bytes("autoreply.eml", day1.id), cfg, NOW).result == "not-dsn"
    assert process(session, dsn_bytes("postfix-hard.eml", 999_999), cfg, NOW).result == "unknown"
    rows = deliveries(session, anna)
    assert [r.bounce_type for r in rows] == [None] * 5
    assert session.get(Participant, anna.id).status == "active"


def test_an_operator_retry_undoes_a_later_hard_bounce(session, cfg, anna):
    from quiz.delivery.outbox import requeue

    day1 = deliveries(session, anna)[0]
    process(session, dsn_bytes("exchange-hard.eml", day1.id), cfg, NOW)
    assert requeue(session, NOW, delivery_id=day1.id) == 1
    rows = deliveries(session, anna)
    assert rows[0].status == "pending" and rows[4].status == "pending"
    assert session.get(Participant, anna.id).status == "active"
