"""The Dutch names people read for stored codes.

The database keeps short English codes (`completed`, `followup`, `sent`);
participants ("Mijn gegevens") and organisers (dashboard, CSV export) read
these names instead. One table per code list, so a page and an export never
call the same state by two names.
"""

from __future__ import annotations

# Participant.status, as the participant and the organiser read it.
PARTICIPANT_STATUS_NAMES = {
    "pending": "aangemeld, nog niet bevestigd",
    "active": "doet mee",
    "completed": "quiz afgerond",
    "unsubscribed": "afgemeld",
    "bounced": "e-mail kwam niet aan",
    "erased": "gewist",
}

# Delivery.kind, as a column heading or a list item.
KIND_NAMES = {
    "confirm": "Bevestiging",
    "already_registered": "Al aangemeld",
    "question": "Vraag",
    "followup": "Vervolgmail",
    "reminder": "Herinnering",
    "summary": "Slotmail",
    "repeat": "Herhaalvraag",
}

# Delivery.status.
DELIVERY_STATUS_NAMES = {
    "pending": "wacht",
    "sending": "wordt verstuurd",
    "sent": "verstuurd",
    "deferred": "later opnieuw",
    "failed": "mislukt",
    "cancelled": "geannuleerd",
}


def participant_status_name(status: str) -> str:
    return PARTICIPANT_STATUS_NAMES.get(status, status)


def email_name(kind: str, day: int) -> str:
    """One email to a participant: 'Vraag 3', 'Vervolgmail bij vraag 1',
    'Herhaalvraag 2 (ronde 1)', 'Slotmail'. `day` is Delivery.day (the
    question's position; 100 * round + position for a repeat; 0 for the rest)."""
    name = KIND_NAMES.get(kind, kind)
    if kind == "repeat" and day >= 100:
        return f"{name} {day % 100} (ronde {day // 100})"
    if kind in ("question", "reminder") and day:
        return f"{name} {day}"
    if kind == "followup" and day:
        return f"{name} bij vraag {day}"
    return name


def delivery_status_name(status: str) -> str:
    return DELIVERY_STATUS_NAMES.get(status, status)
