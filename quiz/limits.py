"""Abuse limits for the participants' routes and the organisers' login, in one place.

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
- The organisers' login (quiz.web.admin.auth).
A limit hit gives HTTP 429 with the Dutch "Even wachten" page.

The counting is done by the `limits` library (fixed windows; the engine
Flask-Limiter is built on) from a decorator per limit. Flask-Limiter itself
ran a before- and an after-request hook on every request and resolved every
declared limit each time: a sixth of the CPU of an answer confirmation, the
hot path of a quiz morning (docs/benchmarks.md, "Answering"), for five
fixed limits. RATELIMIT_ENABLED=False switches them off (for tests that are
about something else); RATELIMIT_KEY_PREFIX separates apps sharing a Redis.

When the storage cannot be reached (Redis down), the request goes through
and the failure is logged: a participant's answer matters more than a limit.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException, TooManyRequests

log = logging.getLogger(__name__)

SIGNUP_PER_ADDRESS = "30 per 10 minutes;200 per day"
SIGNUP_PER_EMAIL = "5 per hour;10 per day"
TOKEN_POST_PER_LINK = "20 per minute"
BAD_TOKENS_PER_ADDRESS = "30 per minute;300 per hour"
# Per client address; the lockout in the database guards each account.
LOGIN_PER_ADDRESS = "10 per minute;50 per hour"

F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    """One counter store per app, from QUIZ_RATELIMIT_STORAGE_URL."""
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "quiz")
    storage = storage_from_string(app.config["QUIZ_RATELIMIT_STORAGE_URL"])
    app.extensions["quiz_limits"] = FixedWindowRateLimiter(storage)
    app.extensions["quiz_limit_blocks"] = {}


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def client_address() -> str:
    """The client's address (the proxy's X-Forwarded-For, through ProxyFix)."""
    return request.remote_addr or "127.0.0.1"


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
    return link_key_for(str((request.view_args or {}).get("token", "")))


def link_key_for(token: str) -> str:
    return "link:" + _digest(token)


class RateLimit:
    """A decorator: at most `spec` requests (e.g. "20 per minute;100 per hour")
    per key within `scope`, counting only `methods`.

    With `counts`, only requests whose response status `counts` accepts are
    counted (bad tokens), and the limit must hold for every request of the
    key: once a counted request goes over it, that request and every later
    one of the key gets 429 until the window ends. That block is remembered
    in this process, so the many requests that are not counted (a school's
    genuine answers) cost no trip to the store; another web process learns
    of the block at its own next counted request, so a key gets at most one
    more counted request per process before it is stopped there too.
    """

    def __init__(
        self,
        spec: str,
        scope: str,
        key: Callable[[], str],
        methods: tuple[str, ...] | None = ("POST",),
        counts: Callable[[int], bool] | None = None,
    ) -> None:
        self.items: list[RateLimitItem] = parse_many(spec)
        self.scope, self.key, self.methods, self.counts = scope, key, methods, counts

    def _store(self) -> FixedWindowRateLimiter | None:
        if not current_app.config["RATELIMIT_ENABLED"]:
            return None
        if self.methods is not None and request.method not in self.methods:
            return None
        return current_app.extensions["quiz_limits"]

    def _hit(self, store: FixedWindowRateLimiter, ids: tuple[str, ...]) -> float | None:
        """Count one request; None while within the limit, else when the block ends."""
        try:
            for item in self.items:
                if not store.hit(item, *ids):
                    return store.get_window_stats(item, *ids).reset_time
        except Exception:  # storage down: let the request through
            log.exception("rate limit storage unreachable; %s not checked", self.scope)
        return None

    @staticmethod
    def _blocks() -> dict[tuple[str, ...], float]:
        """This app's blocks in this process: key -> when it ends (time.time())."""
        return current_app.extensions["quiz_limit_blocks"]

    def _ids(self) -> tuple[str, ...]:
        """The current request's counter: app prefix, scope, key."""
        return (current_app.config["RATELIMIT_KEY_PREFIX"], self.scope, self.key())

    def _blocked(self, ids: tuple[str, ...]) -> bool:
        return self._blocks().get(ids, 0.0) > time.time()

    def remembers_block(self, app: Flask, method: str, key: Callable[[], str]) -> bool:
        """Whether this process holds a block for `key()` (what `self.key()`
        gives for a request): the check the decorators make before the view,
        for a caller outside Flask's request handling (quiz.web.confirm_fast).
        `key` is only called when some block is held: usually none is."""
        config = app.config
        if not config["RATELIMIT_ENABLED"] or (self.methods is not None and method not in self.methods):
            return False
        blocks = app.extensions["quiz_limit_blocks"]
        if not blocks:
            return False
        return blocks.get((config["RATELIMIT_KEY_PREFIX"], self.scope, key()), 0.0) > time.time()

    def _block(self, ids: tuple[str, ...], until: float) -> None:
        blocks = self._blocks()
        if len(blocks) > MAX_BLOCKED:  # many keys: forget the ended blocks
            now = time.time()
            for key in [k for k, t in blocks.items() if t <= now]:
                del blocks[key]
        blocks[ids] = until

    def __call__(self, view: F) -> F:
        @wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            store = self._store()
            if store is None:
                return view(*args, **kwargs)
            ids = self._ids()
            if self.counts is None:
                if self._hit(store, ids) is not None:
                    raise TooManyRequests()
                return view(*args, **kwargs)
            if self._blocked(ids):
                raise TooManyRequests()
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except HTTPException as exc:
                if self.counts(exc.code or 500):
                    self._count_or_block(store, ids)
                raise
            if self.counts(response.status_code):
                self._count_or_block(store, ids)
            return response

        return limited  # type: ignore[return-value]

    def _count_or_block(self, store: FixedWindowRateLimiter, ids: tuple[str, ...]) -> None:
        until = self._hit(store, ids)
        if until is not None:
            self._block(ids, until)
            raise TooManyRequests()

    def counted_by_view(self, view: F) -> F:
        """A decorator for a view that decides itself which requests count
        (it calls `count()` for those): only a remembered block is checked
        before the view, at no trip to the store.

        For the answer confirmation: the POST that records an answer
        happens once per link, so counting it guards nothing while it costs
        a Redis round trip on a quiz morning's hot path; every other POST
        on the link (a revisit, a scanner's, no option chosen) counts, and
        once over the limit the link is blocked in this process before any
        database work, as with `counts`.
        """

        @wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            if self._store() is not None and self._blocked(self._ids()):
                raise TooManyRequests()
            return view(*args, **kwargs)

        return limited  # type: ignore[return-value]

    def count(self) -> None:
        """Count the current request (from a view decorated with
        `counted_by_view`); 429 once over the limit."""
        store = self._store()
        if store is not None:
            self._count_or_block(store, self._ids())


# Blocks remembered per process before the ended ones are swept out.
MAX_BLOCKED = 10_000


def _bad_token(status: int) -> bool:
    return status in (400, 410)


signup_per_address = RateLimit(SIGNUP_PER_ADDRESS, "signup-address", client_address)
signup_per_email = RateLimit(SIGNUP_PER_EMAIL, "signup-email", email_key)
token_post_per_link = RateLimit(TOKEN_POST_PER_LINK, "token-post", link_key)
bad_tokens_per_address = RateLimit(
    BAD_TOKENS_PER_ADDRESS, "bad-token", client_address, methods=None, counts=_bad_token
)
login_per_address = RateLimit(LOGIN_PER_ADDRESS, "login", client_address)
