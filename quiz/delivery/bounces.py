"""Bounces that come back after the relay accepted a message.

Every message goes out with its own envelope sender (VERP):
`bounces+<delivery id>.<signature>@domain`, built from QUIZ_BOUNCE_ADDRESS.
A bounce goes to that address, so the address alone says which delivery
bounced, whatever the bounce's format or language. The signature (an HMAC
of the id with QUIZ_SECRET_KEY) means nobody can mail a fake bounce that
knocks out someone else's subscription by guessing ids.

`quiz bounces fetch` (and the scheduler, when QUIZ_IMAP_URL is set) reads
the bounce mailbox over IMAP, parses each DSN (quiz.delivery.dsn) and records it:

- hard (5.x.x): the delivery is failed and the participant bounced; later
  deliveries are cancelled (quiz.delivery.outbox.mark_failed, the same rule as a
  5xx at SMTP time, so `quiz outbox retry` undoes both alike);
- soft (4.x.x): counted on the delivery; when the participant's last three
  sent messages all came back soft, it counts as hard;
- delayed: nothing (the relay is still trying).

Recording is idempotent: the same DSN read twice changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz.delivery import dsn, outbox
from quiz.models import Delivery

log = logging.getLogger(__name__)

SOFT_IN_A_ROW = 3
SIGNATURE_LENGTH = 12  # hex digits: 48 bits, far beyond guessing by mail


def _signature(delivery_id: int, key: str) -> str:
    mac = hmac.new(key.encode(), f"quiz.bounce:{delivery_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:SIGNATURE_LENGTH]


def verp_address(delivery_id: int, bounce_address: str, key: str) -> str:
    """bounces@example.org + 42 -> bounces+42.<signature>@example.org."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{delivery_id}.{_signature(delivery_id, key)}@{domain}"


def delivery_ids(addresses: Sequence[str], bounce_address: str, keys: Sequence[str]) -> set[int]:
    """Delivery ids in the VERP addresses among `addresses` whose signature is
    valid under one of `keys` (the current key and the rotation fallbacks)."""
    local, _, domain = bounce_address.rpartition("@")
    pattern = re.compile(
        rf"(?<![\w.+-]){re.escape(local)}\+(\d{{1,18}})\.([0-9a-f]{{{SIGNATURE_LENGTH}}})@{re.escape(domain)}\b",
        re.IGNORECASE,
    )
    found = set()
    for text in addresses:
        for raw_id, sig in pattern.findall(text):
            delivery_id = int(raw_id)
            if any(hmac.compare_digest(sig.lower(), _signature(delivery_id, key)) for key in keys):
                found.add(delivery_id)
    return found


def signing_keys(cfg: Mapping[str, Any]) -> list[str]:
    return [cfg["QUIZ_SECRET_KEY"], *cfg.get("QUIZ_SECRET_KEY_FALLBACKS", [])]


@dataclass
class Outcome:
    result: str  # hard, soft, soft-to-hard, delayed, duplicate, unknown, not-dsn
    delivery_id: int | None = None


def record(session: Session, delivery: Delivery, verdict: dsn.Verdict, now: datetime) -> str:
    """Apply one bounce to its delivery (see the module docstring). The caller commits."""
    if verdict.kind == "delayed":
        return "delayed"
    if delivery.bounce_type == "hard" or (delivery.bounce_type == verdict.kind and verdict.kind == "soft"):
        return "duplicate"
    reason = f"bounced later ({verdict.kind}, {verdict.status}): {verdict.diagnostic}"
    delivery.bounce_type, delivery.bounce_status, delivery.bounced_at = verdict.kind, verdict.status, now
    if verdict.kind == "hard":
        outbox.mark_failed(session, delivery, now, reason, bounced=True)
        return "hard"
    session.flush()
    if _soft_in_a_row(session, delivery):
        outbox.mark_failed(
            session, delivery, now, f"{SOFT_IN_A_ROW} soft bounces in a row; last: {reason}", bounced=True
        )
        return "soft-to-hard"
    delivery.last_error = reason[:2000]
    return "soft"


def _soft_in_a_row(session: Session, delivery: Delivery) -> bool:
    """The participant's last SOFT_IN_A_ROW messages sent, up to this one, all bounced soft.

    Messages delivered fine in between (no bounce) break the row, so a
    mailbox that was full on Monday and fine on Tuesday is not given up on.
    """
    if delivery.sent_at is None:
        return False
    recent = session.scalars(
        select(Delivery.bounce_type)
        .where(Delivery.participant_id == delivery.participant_id, Delivery.sent_at.is_not(None))
        .where(Delivery.sent_at <= delivery.sent_at)
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(SOFT_IN_A_ROW)
    ).all()
    return len(recent) == SOFT_IN_A_ROW and all(kind == "soft" for kind in recent)


def process(session: Session, raw: bytes, cfg: Mapping[str, Any], now: datetime) -> Outcome:
    """Parse one message from the bounce mailbox and record it. Commits."""
    notification = dsn.parse(raw)
    if notification is None:
        return Outcome("not-dsn")
    verdict = dsn.classify(notification)
    ids = delivery_ids(notification.addresses, cfg["QUIZ_BOUNCE_ADDRESS"], signing_keys(cfg))
    if verdict is None:
        return Outcome("not-dsn")
    if len(ids) != 1:
        # No valid VERP address (forged, or an address from before VERP): never guess.
        log.info("bounce without one signed VERP address (%d found); left for a person", len(ids))
        return Outcome("unknown")
    (delivery_id,) = ids
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return Outcome("unknown", delivery_id)
    result = record(session, delivery, verdict, now)
    session.commit()
    log.info("bounce for delivery %s: %s %s", delivery_id, result, verdict.status)
    return Outcome(result, delivery_id)
