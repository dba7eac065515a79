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
from base64 import urlsafe_b64decode
from binascii import b2a_base64
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
        # HMAC-SHA1 (RFC 2104) from its two keyed SHA-1 states: two C copies
        # per token instead of the hmac module's Python wrapper around them
        # (about 1.5 -> 1 us a token, six tokens an email, one per answer).
        # A derived key is a SHA-1 digest, shorter than the 64-byte block.
        block = derived.ljust(64, b"\x00")
        self._inner = hashlib.sha1(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha1(bytes(b ^ 0x5C for b in block))

    def _signature(self, value: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(value)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def signed(self, value: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's HMAC of `value` (constant time)."""
        return hmac.compare_digest(self._signature(value), signature)

    def dumps(self, payload: Any, timestamp: int | None = None) -> str:
        """The signed token for `payload` at `timestamp` (default: now, as itsdangerous)."""
        body = _compact_json(payload).encode()
        value = _b64(body)
        if _may_compress(body):
            compressed = zlib.compress(body)
            # itsdangerous keeps the zlib form when it is shorter than len(body) - 1
            if len(compressed) < len(body) - 1:
                value = b"." + _b64(compressed)
        value += b"." + _b64_timestamp(int(time.time()) if timestamp is None else timestamp)
        return (value + b"." + _b64(self._signature(value))).decode("ascii")


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> bytes:
    """base64url without padding, straight from binascii."""
    return b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


# The three-byte windows of a body of each length up to MAY_NOT_COMPRESS_UP_TO.
MAY_NOT_COMPRESS_UP_TO = 20
_TRIGRAMS = {n: tuple(slice(i, i + 3) for i in range(n - 2)) for n in range(3, MAY_NOT_COMPRESS_UP_TO + 1)}


def _may_compress(body: bytes) -> bool:
    """False when zlib.compress(body) is certainly not shorter than
    len(body) - 1, so itsdangerous would throw the zlib form away (it costs
    about 4 us to find out; four of the six tokens in a question email are
    3-id answer tokens, 13-16 bytes).

    zlib.compress gives 2 header bytes + the deflate stream + 4 (Adler-32),
    so compression wins only if the stream has at most L - 8 bytes, i.e. at
    most 8L - 64 bits, for a body of L bytes. Two cases where it cannot:
    - L <= 10: a stream with a literal in it is at least 3 bytes (3 + 8 + 7
      bits in a fixed-code block, more in the others), and 3 > L - 8.
    - L <= 20, ASCII, and no three bytes occur twice: deflate's matches are
      3 bytes or longer and copy earlier bytes, so there is no match and the
      stream holds L literals and the end-of-block code. A stored block is
      L + 5 bytes; a fixed-code block 3 + 8L + 7 bits (ASCII literals are
      8 bits). A dynamic block spends 17 bits on its header fields, 3 bits
      for each code-length code up to the one for the shortest literal
      length m in the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 15
      (m = 1: 18 codes, 2: 16, 3: 14, 4: 12, 5: 10, 6: 8, 7: 6), at least
      8 bits for the zero lengths of bytes 128-255 (one code 18 and its 7
      extra bits at best), and m bits or more for each literal and the
      end-of-block code (m: the shortest of their lengths). For m = 1 that
      is 17 + 54 + 8 + (L + 1) = 80 + L bits, more than 8L - 64 while
      L <= 20; for m = 2 ... 7 the same sum stays above 8L - 64 up to
      L = 23, 26, 32, 41, 59 and 113, and m >= 8 saves nothing over
      8-bit literals.
    tests/test_tokens.py checks this against zlib itself.
    """
    n = len(body)
    if n <= 10:
        return False
    if n > MAY_NOT_COMPRESS_UP_TO or not body.isascii():
        return True
    return len(set(map(body.__getitem__, _TRIGRAMS[n]))) < n - 2


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
