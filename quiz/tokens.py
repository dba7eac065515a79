"""Signed tokens for links in emails, one salt per purpose.

A token for one purpose never validates for another (the salt differs), and
after a key rotation old links keep working through QUIZ_SECRET_KEY_FALLBACKS.
Tokens hold ids only, never an email address or a name.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import current_app
from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode

PURPOSES = ("confirm", "answer", "unsubscribe", "manage", "discussed", "preview")


class TokenInvalid(Exception):
    """Tampered, foreign or malformed token (HTTP 400)."""


class TokenExpired(Exception):
    """A genuine token past its lifetime (HTTP 410)."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    cfg = current_app.config
    # itsdangerous signs with the last key and verifies with all of them.
    return _cached_serializer(purpose, (*cfg["QUIZ_SECRET_KEY_FALLBACKS"], cfg["QUIZ_SECRET_KEY"]))


@lru_cache(maxsize=64)
def _cached_serializer(purpose: str, keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    # Built once per purpose and key set: the morning's drain signs six links
    # per email, and building the serializer cost a third of each signature.
    # A serializer keeps no state between calls, so threads can share it.
    return URLSafeTimedSerializer(list(keys), salt=f"quiz.{purpose}")


def make_token(purpose: str, payload: Any) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age_seconds: int, now: datetime) -> Any:
    """The payload of a valid token; TokenExpired or TokenInvalid otherwise.

    `now` decides expiry so tests and rules agree on the moment.
    """
    serializer = _serializer(purpose)
    try:
        payload, signed_at = serializer.loads(token, return_timestamp=True)
    except SignatureExpired as exc:  # pragma: no cover - we check age ourselves below
        raise TokenExpired from exc
    except (BadSignature, UnicodeError, ValueError, TypeError) as exc:
        raise TokenInvalid from exc
    if not _canonical(token):
        raise TokenInvalid
    if (now - signed_at).total_seconds() > max_age_seconds:
        raise TokenExpired
    return payload


def _canonical(token: str) -> bool:
    """True if every base64 part is written the one way we write it.

    The decoder ignores the unused low bits of a part's last character, so
    without this check a token with another last character would still be
    accepted: one link, several spellings.
    """
    parts = token.split(".")
    if parts[0] == "":  # a compressed payload starts with a dot
        parts = parts[1:]
    try:
        return all(part and base64_encode(base64_decode(part)).decode() == part for part in parts)
    except (BadData, UnicodeError, ValueError):
        return False
