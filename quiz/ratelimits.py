"""Abuse limits for the participants' routes and the organisers' login (Flask-Limiter).

What is limited, and per what:
- Signup: per client address (a school shares one address, so generous)
  and per email address (one address cannot be flooded with confirmation
  mails: this is the limit on confirmation resends, on top of the resend
  interval in quiz.signup.participants).
- Token routes (answer, confirm, Mijn quiz, unsubscribe, erase, besproken):
  POSTs per link, so one link cannot be hammered; and per client address
  counting only requests answered with a bad or expired token (400, 410),
  so guessing tokens is cut off while a morning's burst of genuine answers
  from one school's address is not. Once an address is over that limit,
  every request of it to a token route gets 429 until the window ends, a
  genuine link too: a guesser who is cut off learns nothing more.
- The certificate's PDF: downloads per link (WeasyPrint takes about 0.3 s
  of a web worker per PDF; one participant needs a handful).
- The public check of a certificate code (quiz.followups.certificate_views):
  lookups with a code per client address, so nobody runs through codes to
  collect names.
- The organisers' login (quiz.admin.auth): per client address, and
  wrong passwords per account and client address, counted alike for known
  and unknown accounts, so the answer tells nobody which accounts exist,
  and nobody elsewhere can lock the real organiser out.
A limit hit gives HTTP 429 with the Dutch "Even wachten" page (quiz.errors).

How a view asks for a limit: decorate it below its route, e.g.

    @bp.route("/a/<token>", methods=["GET", "POST"])
    @ratelimits.bad_tokens_per_address
    @ratelimits.posts_per_link
    def answer(token): ...

and, on a POST that must not count towards the link's limit (the one that
records the answer), call `ratelimits.not_counted()` in the view.
`init_app`, called once the blueprints are registered, gives each limited
view to Flask-Limiter. Each app gets its own `Limiter`: its storage, key
prefix and Redis-down state belong to that app (tests build many apps in
one process, with different settings).

Counters live in QUIZ_RATELIMIT_STORAGE_URL (fixed windows): memory:// for
one process, Redis when several web processes must share them. Keys hold
no email address, client address or token in the clear (Redis is no place
for personal data): all are hashed first. When the storage cannot be reached (Redis
down), Flask-Limiter counts in this process's memory instead, logs that
once, and goes back to the storage when it answers again: participants
keep being served and the limits keep holding per process.
RATELIMIT_ENABLED=False switches the limits off (for tests that are about
something else); QUIZ_RATELIMIT_KEY_PREFIX separates installations sharing a Redis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email
from flask import Flask, g, request
from flask_limiter import Limiter
from werkzeug.wrappers import Response

SIGNUP_PER_ADDRESS = "30 per 10 minutes;200 per day"
SIGNUP_PER_EMAIL = "5 per hour;10 per day"
POSTS_PER_LINK = "20 per minute"
BAD_TOKENS_PER_ADDRESS = "30 per minute;300 per hour"
PDFS_PER_LINK = "10 per minute;60 per day"
CERTIFICATE_CHECKS_PER_ADDRESS = "20 per minute;100 per hour"
LOGINS_PER_ADDRESS = "10 per minute;50 per hour"
# Enough for typos, far too few to guess a password of 12 characters or more.
WRONG_PASSWORDS_PER_ACCOUNT_AND_ADDRESS = "5 per 15 minutes"

# Redis down must not hold up a request for long (the default is no timeout).
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}

_LIMITS_ATTR = "_quiz_rate_limits"
_NOT_COUNTED = "_quiz_rate_limit_not_counted"

F = TypeVar("F", bound=Callable[..., Any])


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _email_digest(raw: str) -> str:
    """An address as our forms normalise it (so Anna@Example.org and
    anna@example.org count together), hashed."""
    raw = raw.strip()
    try:
        normalised = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        normalised = raw.lower()
    return _digest(normalised)


def client_address() -> str:
    """The client's address (the proxy's X-Forwarded-For, through ProxyFix),
    hashed: an IP address is personal data too."""
    return "addr:" + _digest(request.remote_addr or "127.0.0.1")


def email_key() -> str:
    """The signup form's address, hashed."""
    return "email:" + _email_digest(request.form.get("email") or "")


def link_key_for(token: str) -> str:
    return "link:" + _digest(token)


def link_key() -> str:
    """The token in the path, hashed: one counter per link."""
    return link_key_for(str((request.view_args or {}).get("token", "")))


def account_and_address_key() -> str:
    """The login form's address (whether or not such an account exists),
    hashed, and the client's address."""
    return f"login:{_email_digest(request.form.get('email') or '')}:{client_address()}"


def not_counted() -> None:
    """Let the current POST not count towards `posts_per_link` (the POST that
    records an answer happens once per link: counting it guards nothing)."""
    setattr(g, _NOT_COUNTED, True)


def _counted(response: Response) -> bool:
    return not g.get(_NOT_COUNTED, False)


def _bad_token(response: Response) -> bool:
    return response.status_code in (400, 410)


def _has_code(response: Response) -> bool:
    return request.args.get("code") is not None


def _wrong_password(response: Response) -> bool:
    return response.status_code == 401


@dataclass(frozen=True)
class RateLimit:
    """At most `spec` (e.g. "20 per minute;100 per hour") requests per `key()`
    within `scope`, counting only `methods` (None: all).

    Used as a decorator, it marks a view; `init_app` applies it. With
    `counts`, a request is only counted when `counts(response)` says so
    (after the view), but the limit is checked before every request of the
    key: once over, every one of them gets 429 until the window ends.
    """

    spec: str
    scope: str
    key: Callable[[], str]
    methods: tuple[str, ...] | None = ("POST",)
    counts: Callable[[Response], bool] | None = None

    def __call__(self, view: F) -> F:
        setattr(view, _LIMITS_ATTR, (*getattr(view, _LIMITS_ATTR, ()), self))
        return view


signup_per_address = RateLimit(SIGNUP_PER_ADDRESS, "signup-address", client_address)
signup_per_email = RateLimit(SIGNUP_PER_EMAIL, "signup-email", email_key)
posts_per_link = RateLimit(POSTS_PER_LINK, "token-post", link_key, counts=_counted)
bad_tokens_per_address = RateLimit(
    BAD_TOKENS_PER_ADDRESS, "bad-token", client_address, methods=None, counts=_bad_token
)
pdfs_per_link = RateLimit(PDFS_PER_LINK, "pdf-per-link", link_key, methods=None)
certificate_checks_per_address = RateLimit(
    CERTIFICATE_CHECKS_PER_ADDRESS, "certificate-check", client_address, methods=None, counts=_has_code
)
logins_per_address = RateLimit(LOGINS_PER_ADDRESS, "login", client_address)
wrong_passwords = RateLimit(
    WRONG_PASSWORDS_PER_ACCOUNT_AND_ADDRESS, "wrong-password", account_and_address_key, counts=_wrong_password
)


def init_app(app: Flask) -> None:
    """A Limiter for this app, from QUIZ_RATELIMIT_STORAGE_URL, and the limits
    the registered views asked for. Call after registering the blueprints."""
    config = app.config
    config.setdefault("RATELIMIT_ENABLED", True)
    config.setdefault("RATELIMIT_KEY_PREFIX", config.get("QUIZ_RATELIMIT_KEY_PREFIX", "quiz"))
    storage_uri = config["QUIZ_RATELIMIT_STORAGE_URL"]
    limiter = Limiter(
        client_address,
        storage_uri=storage_uri,
        storage_options=dict(REDIS_TIMEOUTS) if storage_uri.startswith("redis") else None,
        strategy="fixed-window",
        key_prefix=config["RATELIMIT_KEY_PREFIX"],
        # Storage down: count in this process's memory; should that fail too, let the request through.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        enabled=config["RATELIMIT_ENABLED"],
    )
    limiter.init_app(app)
    if not limiter.enabled:
        return
    for endpoint, view in list(app.view_functions.items()):
        limited = view
        for limit in getattr(view, _LIMITS_ATTR, ()):
            limited = limiter.shared_limit(
                limit.spec,
                limit.scope,
                key_func=limit.key,
                methods=list(limit.methods) if limit.methods else None,
                deduct_when=limit.counts,
            )(limited)
        app.view_functions[endpoint] = limited
