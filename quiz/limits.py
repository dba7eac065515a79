"""Abuse limits (Flask-Limiter) for the participants' routes, in one place.

Storage is QUIZ_RATELIMIT_STORAGE_URL: memory:// for one process, Redis when
several web processes must share the counts. Keys never hold an email
address or a token in the clear (Redis is not a place for personal data):
both are hashed first.

- Signup: per client address (a school shares one address, so generous)
  and per email address (one address cannot be flooded with confirmation
  mails: this is the limit on confirmation resends, on top of the resend
  interval in quiz.participants).
- Token routes (answer, confirm, Mijn quiz, unsubscribe): per link, so one
  link cannot be hammered; and per client address counting only requests
  with a bad or expired token, so guessing tokens is cut off while a
  morning's burst of genuine answers from one school's address is not.
- The organisers' login has its own limit (quiz.web.admin.auth).
A limit hit gives HTTP 429 with the Dutch "Even wachten" page.
"""

from __future__ import annotations

import hashlib

from email_validator import EmailNotValidError, validate_email
from flask import request
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from quiz.extensions import limiter

SIGNUP_PER_ADDRESS = "30 per 10 minutes;200 per day"
SIGNUP_PER_EMAIL = "5 per hour;10 per day"
TOKEN_POST_PER_LINK = "20 per minute"
BAD_TOKENS_PER_ADDRESS = "30 per minute;300 per hour"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def email_key() -> str:
    """The signup form's address, normalised as the form does (so
    Anna@Example.org and anna@example.org count together), then hashed."""
    raw = (request.form.get("email") or "").strip()
    try:
        normalised = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        normalised = raw.lower()
    return "email:" + _digest(normalised)


def link_key() -> str:
    """The token in the path, hashed: one counter per link."""
    token = (request.view_args or {}).get("token", "")
    return "link:" + _digest(str(token))


def _bad_token(response: Response) -> bool:
    return response.status_code in (400, 410)


signup_per_address = limiter.limit(SIGNUP_PER_ADDRESS, key_func=get_remote_address, methods=["POST"])
signup_per_email = limiter.limit(SIGNUP_PER_EMAIL, key_func=email_key, methods=["POST"])
token_post_per_link = limiter.limit(TOKEN_POST_PER_LINK, key_func=link_key, methods=["POST"])
bad_tokens_per_address = limiter.shared_limit(
    BAD_TOKENS_PER_ADDRESS, scope="bad-token", key_func=get_remote_address, deduct_when=_bad_token
)
