"""Delivery status notifications (RFC 3464): what a bounce message says.

A relay that accepted a message and later could not deliver it sends a DSN
to the envelope sender: `multipart/report; report-type=delivery-status`
with a human part, a `message/delivery-status` part (per-recipient blocks
with Action and Status) and the original message or its headers. Postfix,
Exim, Exchange and the big mailbox providers all send this format.

`parse(raw)` returns the per-recipient results and every address the DSN
was sent to or carries in the original's Return-Path (where our VERP
address is); `classify` turns the recipient results into one verdict:

- hard: Action `failed` with a 5.x.x Status (the address does not work);
- soft: Action `failed` with a 4.x.x Status (the relay gave up on a
  temporary problem, such as a full mailbox);
- delayed: Action `delayed` (a warning; the relay is still trying, so
  nothing is recorded);
- None: not a DSN, or delivered/relayed/expanded.

Bounces in other shapes (plain-text bounces of very old MTAs) are not DSNs;
they are left in the mailbox for a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

# RFC 3463: class.subject.detail
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_ADDRESS_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc")


@dataclass(frozen=True)
class RecipientResult:
    recipient: str  # Final-Recipient, without the "rfc822;" type
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # e.g. 5.1.1
    diagnostic: str


@dataclass(frozen=True)
class Notification:
    results: tuple[RecipientResult, ...]
    addresses: tuple[str, ...]  # where the DSN went, and the original's Return-Path
    original_message_id: str | None


@dataclass(frozen=True)
class Verdict:
    kind: str  # "hard", "soft" or "delayed"
    status: str
    diagnostic: str


def _typed_value(value: str | None) -> str:
    """'rfc822; anna@example.org' -> 'anna@example.org'; 'smtp; 550 …' -> '550 …'."""
    text = " ".join(str(value or "").split())
    return text.split(";", 1)[1].strip() if ";" in text else text


def _recipient_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package splits the field blocks itself
        return payload[1:]
    # Some MTAs send it base64- or quoted-printable-encoded; parse the blocks by hand.
    text = part.get_payload(decode=True) or b""
    blocks = re.split(r"\r?\n\s*\r?\n", text.decode("utf-8", "replace").strip())
    return [message_from_bytes(b.encode("utf-8"), policy=policy.compat32) for b in blocks[1:]]


def parse(raw: bytes | Message) -> Notification | None:
    """The DSN in `raw`, or None when it is not a delivery-status report."""
    msg = raw if isinstance(raw, Message) else message_from_bytes(raw, policy=policy.default)
    if msg.get_content_type() != "multipart/report":
        return None
    status_part = original = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status") and status_part is None:
            status_part = part
        elif (
            ctype in ("message/rfc822", "text/rfc822-headers", "message/global-headers") and original is None
        ):
            original = part
    if status_part is None:
        return None

    results = []
    for block in _recipient_blocks(status_part):
        recipient = _typed_value(block.get("Final-Recipient") or block.get("Original-Recipient"))
        action = str(block.get("Action") or "").strip().lower()
        match = _STATUS.search(str(block.get("Status") or ""))
        if not recipient or not action:
            continue
        diagnostic = _typed_value(block.get("Diagnostic-Code"))
        status = ".".join(match.groups()) if match else ""
        results.append(RecipientResult(recipient.lower(), action, status, diagnostic[:500]))

    addresses = [str(v) for name in _ADDRESS_HEADERS for v in (msg.get_all(name) or [])]
    headers = _original_headers(original)
    message_id = None
    if headers is not None:
        addresses += [str(v) for v in (headers.get_all("Return-Path") or [])]
        message_id = str(headers.get("Message-ID") or "").strip() or None
    return Notification(tuple(results), tuple(addresses), message_id)


def _original_headers(part: Message | None) -> Message | None:
    if part is None:
        return None
    if part.get_content_type() == "message/rfc822" or part.is_multipart():
        inner = part.get_payload()
        return inner[0] if isinstance(inner, list) and inner else None
    body = part.get_payload(decode=True) or b""
    return message_from_bytes(body, policy=policy.default)


def classify(notification: Notification) -> Verdict | None:
    """One verdict for the DSN: a failure beats a delay, 5.x.x beats 4.x.x.

    A failed action without a usable Status takes its class from the
    diagnostic's SMTP reply code (550 -> hard, 452 -> soft)."""
    best: Verdict | None = None
    rank = {"delayed": 0, "soft": 1, "hard": 2}
    for result in notification.results:
        status = result.status
        if not status:
            code = re.match(r"\s*([245])\d\d\b", result.diagnostic)
            status = f"{code.group(1)}.0.0" if code else ""
        if result.action == "failed" and status.startswith("5"):
            verdict = Verdict("hard", status, result.diagnostic)
        elif result.action == "failed" and status.startswith("4"):
            verdict = Verdict("soft", status, result.diagnostic)
        elif result.action == "delayed":
            verdict = Verdict("delayed", status, result.diagnostic)
        else:
            continue
        if best is None or rank[verdict.kind] > rank[best.kind]:
            best = verdict
    return best
