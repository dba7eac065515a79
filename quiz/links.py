"""Every signed link the quiz sends or shows, in one place.

A link's token is an itsdangerous `URLSafeTimedSerializer` token: the
payload (ids only, never an address or a name) as JSON, the moment it was
signed, and an HMAC over both. Each purpose has its own salt
("quiz.<purpose>"), so a token made for one page never opens another.
QUIZ_SECRET_KEY signs; the keys in QUIZ_SECRET_KEY_FALLBACKS (oldest first,
as Flask's SECRET_KEY_FALLBACKS) still verify, so after a key rotation the
links already sent keep working.

- `confirm`: participant; valid QUIZ_TOKEN_MAX_AGE_DAYS.
- `answer`: [participant, question] or [participant, question, option]; BACKSTOP.
- `manage` ("Mijn quiz"), `unsubscribe`: participant; BACKSTOP.
- `discussed` ("Besproken in ons team"): [participant, question]; BACKSTOP.
- `preview` (organisers): [question, option or 0]; PREVIEW_MAX_AGE.
- `repeat` (herhaalvraag): [participant, question, round] or [participant,
  question, round, option]; BACKSTOP.
- `repeats_stop` ("stop de herhaalvragen"): participant; BACKSTOP.

For the participants' links the pages apply their own, shorter rules (the
answer window, quiz.answering.answers); BACKSTOP only ends links nobody could use
any more anyway. Emails and web pages both sign and read through the
functions below; a tampered, foreign or malformed token raises
TokenInvalid, one past its age TokenExpired (quiz.errors.token_pages turns
them into the Dutch 400 and 410 pages).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

PURPOSES = ("confirm", "answer", "manage", "unsubscribe", "discussed", "preview", "repeat", "repeats_stop")

BACKSTOP = timedelta(days=400)
PREVIEW_MAX_AGE = timedelta(days=30)
# The database's integer range: a larger id can only be a forged payload,
# and PostgreSQL would refuse to compare it with an integer column.
MAX_ID = 2**31 - 1


class TokenInvalid(Exception):
    """Tampered, foreign or malformed token (HTTP 400)."""


class TokenExpired(Exception):
    """A genuine token past its lifetime (HTTP 410).

    `payload` is what the token holds, when it is past its lifetime: its
    signature is genuine, so a page may use it to say why the link stopped
    working (the confirm page: "je gegevens zijn gewist" is truer than
    "verlopen" for an erased participant)."""

    def __init__(self, payload: Any = None) -> None:
        super().__init__()
        self.payload = payload


@lru_cache(maxsize=64)
def _serializer(purpose: str, keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key and verifies with each, newest first.
    return URLSafeTimedSerializer(list(keys), salt=f"quiz.{purpose}")


def serializer(purpose: str) -> URLSafeTimedSerializer:
    """The app's serializer for `purpose`, built once per purpose and set of keys."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    config = current_app.config
    return _serializer(purpose, (*config["QUIZ_SECRET_KEY_FALLBACKS"], config["QUIZ_SECRET_KEY"]))


def max_age(purpose: str) -> timedelta:
    """How long a token of `purpose` is valid by its signature alone (see the table above)."""
    if purpose == "confirm":
        return timedelta(days=current_app.config["QUIZ_TOKEN_MAX_AGE_DAYS"])
    if purpose == "preview":
        return PREVIEW_MAX_AGE
    return BACKSTOP


def sign(purpose: str, payload: Any) -> str:
    """A token for `purpose` holding `payload`, signed now with QUIZ_SECRET_KEY."""
    return serializer(purpose).dumps(payload)


def load(purpose: str, token: str, now: datetime) -> Any:
    """The payload of a genuine token of `purpose` signed at most `max_age`
    before `now`; TokenInvalid or TokenExpired otherwise. `now` decides (not
    the clock), so rules and tests agree on the moment."""
    try:
        payload, signed_at = serializer(purpose).loads(token, return_timestamp=True)
    except BadData as exc:
        raise TokenInvalid from exc
    if now - signed_at > max_age(purpose):
        raise TokenExpired(payload)
    return payload


def is_id(value: object) -> bool:
    """A database id: a positive int in range (bool, an int subclass, is not one)."""
    return type(value) is int and 0 < value <= MAX_ID


def _ids(payload: object, lengths: tuple[int, ...]) -> list[int]:
    if not isinstance(payload, list) or len(payload) not in lengths or not all(map(is_id, payload)):
        raise TokenInvalid
    return payload


def _id(payload: object) -> int:
    if not is_id(payload):
        raise TokenInvalid
    return payload  # type: ignore[return-value]


# --- one pair per purpose: the token for emails and pages, and its reader -----


def confirm_token(participant_id: int) -> str:
    return sign("confirm", participant_id)


def read_confirm(token: str, now: datetime) -> int:
    """The participant of a confirmation link."""
    return _id(load("confirm", token, now))


def answer_token(participant_id: int, question_id: int, option_id: int | None = None) -> str:
    """An answer link; without an option it opens the question with nothing chosen."""
    payload = [participant_id, question_id] if option_id is None else [participant_id, question_id, option_id]
    return sign("answer", payload)


def read_answer(token: str, now: datetime) -> tuple[int, int, int | None]:
    """(participant, question, option or None) of an answer link."""
    ids = _ids(load("answer", token, now), (2, 3))
    return ids[0], ids[1], ids[2] if len(ids) == 3 else None


def manage_token(participant_id: int) -> str:
    return sign("manage", participant_id)


def read_manage(token: str, now: datetime) -> int:
    """The participant of a "Mijn quiz" link."""
    return _id(load("manage", token, now))


def unsubscribe_token(participant_id: int) -> str:
    return sign("unsubscribe", participant_id)


def read_unsubscribe(token: str, now: datetime) -> int:
    """The participant of an unsubscribe link."""
    return _id(load("unsubscribe", token, now))


def discussed_token(participant_id: int, question_id: int) -> str:
    return sign("discussed", [participant_id, question_id])


def read_discussed(token: str, now: datetime) -> tuple[int, int]:
    """(participant, question) of a "Besproken in ons team" link."""
    participant_id, question_id = _ids(load("discussed", token, now), (2,))
    return participant_id, question_id


def preview_token(question_id: int, option_id: int | None = None) -> str:
    """An organiser's preview of a question's pages (0: no option chosen)."""
    return sign("preview", [question_id, option_id or 0])


def read_preview(token: str, now: datetime) -> tuple[int, int | None]:
    """(question, option or None) of a preview link."""
    payload = load("preview", token, now)
    if not (isinstance(payload, list) and len(payload) == 2 and is_id(payload[0])):
        raise TokenInvalid
    option = payload[1]
    if not (option == 0 and type(option) is int) and not is_id(option):
        raise TokenInvalid
    return payload[0], option or None


# Rounds of repeat questions: the campaign allows 1 to 5 (quiz.models.Campaign.repeat_max).
MAX_ROUND = 5


def repeat_token(participant_id: int, question_id: int, round_: int, option_id: int | None = None) -> str:
    """A repeat question's answer link (round 1, 2, ...); without an option it
    opens the question with nothing chosen."""
    payload = [participant_id, question_id, round_]
    return sign("repeat", payload if option_id is None else [*payload, option_id])


def read_repeat(token: str, now: datetime) -> tuple[int, int, int, int | None]:
    """(participant, question, round, option or None) of a repeat answer link."""
    ids = _ids(load("repeat", token, now), (3, 4))
    if ids[2] > MAX_ROUND:
        raise TokenInvalid
    return ids[0], ids[1], ids[2], ids[3] if len(ids) == 4 else None


def repeats_stop_token(participant_id: int) -> str:
    return sign("repeats_stop", participant_id)


def read_repeats_stop(token: str, now: datetime) -> int:
    """The participant of a "stop de herhaalvragen" link."""
    return _id(load("repeats_stop", token, now))
