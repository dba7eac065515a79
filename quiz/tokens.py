"""Signed tokens for links in emails, one salt per purpose.

A token for one purpose never validates for another (the salt differs), and
after a key rotation old links keep working through QUIZ_SECRET_KEY_FALLBACKS.
Tokens hold ids only, never an email address or a name.

The tokens are itsdangerous's `URLSafeTimedSerializer` tokens, byte for
byte. `make_token` writes the same bytes as its `dumps`, and `read_token`
accepts exactly what its `loads` accepts (in the one spelling we write), but
both with the derived key and the HMAC state computed once per purpose and
key instead of per call: the morning's drain signs six links per email, and
a quiz morning's burst of answers reads one per confirmation; itsdangerous's
per-call key derivation, JSON coder and HMAC set-up were a fifth of the
sender's CPU and a tenth of a confirmation's. tests/test_tokens.py proves
both against itsdangerous, for arbitrary payloads and timestamps and for
mutated tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import zlib
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import current_app

PURPOSES = ("confirm", "answer", "unsubscribe", "manage", "discussed", "preview")


class TokenInvalid(Exception):
    """Tampered, foreign or malformed token (HTTP 400)."""


class TokenExpired(Exception):
    """A genuine token past its lifetime (HTTP 410)."""


class TokenSigner:
    """itsdangerous's `URLSafeTimedSerializer(key, salt=salt)`, byte for byte, faster.

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

    def signed(self, value: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's HMAC of `value` (constant time)."""
        mac = self._mac.copy()
        mac.update(value)
        return hmac.compare_digest(mac.digest(), signature)

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

    Valid: signed for `purpose` with QUIZ_SECRET_KEY or one of its fallbacks,
    written in the one spelling we write (see `_canonical`). `now` decides
    expiry so tests and rules agree on the moment.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if not isinstance(token, str) or not token.isascii() or not _canonical(token):
        raise TokenInvalid
    value, _, signature = token.rpartition(".")
    body, _, stamp = value.rpartition(".")
    if not body or body == ".":
        raise TokenInvalid
    cfg = current_app.config
    keys = (cfg["QUIZ_SECRET_KEY"], *reversed(cfg["QUIZ_SECRET_KEY_FALLBACKS"]))
    raw_signature = _unb64(signature)
    if not any(_signer(purpose, key).signed(value.encode(), raw_signature) for key in keys):
        raise TokenInvalid
    try:
        data = _unb64(body[1:]) if body.startswith(".") else _unb64(body)
        if body.startswith("."):
            data = zlib.decompress(data)
        payload = json.loads(data.decode("utf-8"))
    except (ValueError, zlib.error) as exc:  # signed by us, so not expected
        raise TokenInvalid from exc
    try:
        signed_at = datetime.fromtimestamp(int.from_bytes(_unb64(stamp), "big"), tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:  # a time beyond the calendar
        raise TokenInvalid from exc
    if (now - signed_at).total_seconds() > max_age_seconds:
        raise TokenExpired
    return payload


def _unb64(part: str) -> bytes:
    return urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _canonical(token: str) -> bool:
    """True if the token has the parts we write ([.]payload.timestamp.signature)
    and every part is base64url written the one way we write it.

    The decoder ignores the unused low bits of a part's last character, so
    without this check a token with another last character would still be
    accepted: one link, several spellings.
    """
    parts = token.split(".")
    if parts[0] == "":  # a compressed payload starts with a dot
        parts = parts[1:]
    if len(parts) != 3:
        return False
    try:
        return all(part and _b64(_unb64(part)).decode() == part for part in parts)
    except (ValueError, UnicodeError):
        return False
