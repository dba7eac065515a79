"""Signed tokens for links in emails, one salt per purpose.

A token for one purpose never validates for another (the salt differs), and
after a key rotation old links keep working through QUIZ_SECRET_KEY_FALLBACKS.
Tokens hold ids only, never an email address or a name.

Signing and verifying are split on purpose. `read_token` verifies with
itsdangerous, unchanged, so every link already sent keeps working exactly as
before. `make_token` writes the same bytes as itsdangerous's
`URLSafeTimedSerializer.dumps` (tests/test_tokens.py proves it against
itsdangerous for arbitrary payloads and timestamps) but with the derived key
and the HMAC state computed once per purpose and key instead of per call: the
morning's drain signs six links per email, and itsdangerous's per-call key
derivation, JSON encoder and HMAC set-up were a fifth of the sender's CPU.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import zlib
from base64 import urlsafe_b64encode
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
    # Built once per purpose and key set. A serializer keeps no state between
    # calls, so threads can share it.
    return URLSafeTimedSerializer(list(keys), salt=f"quiz.{purpose}")


class TokenSigner:
    """`URLSafeTimedSerializer(keys, salt=salt).dumps`, byte for byte, faster.

    The same steps as itsdangerous 2.x with its defaults: compact JSON
    (`separators=(",", ":")`, `ensure_ascii=False`), zlib-compressed when
    that is shorter (marked by a leading "."), base64url without padding,
    then ".<timestamp>" (the Unix time as big-endian bytes without leading
    zeros) and ".<signature>": HMAC-SHA1 over all of that with the
    "django-concat" derived key sha1(salt + b"signer" + secret_key).
    What changes is only when the work is done: the key is derived and the
    HMAC keyed once here, and each token continues from a `copy()` of it.
    Stateless after construction, so threads can share one.
    """

    def __init__(self, secret_key: str, salt: str) -> None:
        derived = hashlib.sha1(salt.encode() + b"signer" + secret_key.encode()).digest()
        self._mac = hmac.new(derived, digestmod=hashlib.sha1)

    def dumps(self, payload: Any, timestamp: int | None = None) -> str:
        """The signed token for `payload` at `timestamp` (default: now, as itsdangerous)."""
        body = _compact_json(payload).encode()
        value = _b64(body)
        # itsdangerous keeps the zlib form when it is shorter than len(body) - 1.
        # zlib adds 6 bytes (header, Adler-32) to a deflate stream of at least
        # 3 bytes, so a body of up to 10 bytes (every id) never qualifies and
        # is not compressed just to be thrown away.
        if len(body) > 10:
            compressed = zlib.compress(body)
            if len(compressed) < len(body) - 1:
                value = b"." + _b64(compressed)
        value += b"." + _b64_timestamp(int(time.time()) if timestamp is None else timestamp)
        mac = self._mac.copy()
        mac.update(value)
        return (value + b"." + _b64(mac.digest())).decode("ascii")


def _b64(data: bytes) -> bytes:
    return urlsafe_b64encode(data).rstrip(b"=")


@lru_cache(maxsize=4)
def _b64_timestamp(ts: int) -> bytes:
    # Cached: within one second every token carries the same timestamp.
    return _b64(ts.to_bytes(8, "big").lstrip(b"\x00"))


def _compact_json(payload: Any) -> str:
    """json.dumps(payload, separators=(",", ":"), ensure_ascii=False).

    Our payloads are an id or a list of ids; those are written directly
    (the json module builds a new encoder for every call with arguments).
    Anything else, bools included (an int subclass that JSON writes as
    true/false), goes through the json module.
    """
    kind = type(payload)
    if kind is int:
        return str(payload)
    if kind is list and all(type(v) is int for v in payload):
        return "[" + ",".join(map(str, payload)) + "]"
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=64)
def _signer(purpose: str, secret_key: str) -> TokenSigner:
    return TokenSigner(secret_key, f"quiz.{purpose}")


def make_token(purpose: str, payload: Any) -> str:
    """A token for `purpose`, signed with QUIZ_SECRET_KEY (the newest key;
    the fallbacks only verify)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return _signer(purpose, current_app.config["QUIZ_SECRET_KEY"]).dumps(payload)


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
