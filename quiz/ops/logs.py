"""Logs without email addresses, link tokens or certificate codes.

A token in a path is a credential (it answers, unsubscribes or erases), and
an email address is personal data; neither belongs in a log file that
operators copy around. Three places need it:

- `redact(text)`: email addresses become `<e-mail #hash>` (a short SHA-256,
  enough to follow one address through a log without writing it down), and
  the token segment of our token paths becomes `<token>`. Which segments
  those are, the URL map says: every route declares its token as
  `<token:token>` (quiz.urls.TokenConverter), and create_app hands the map to
  `learn_token_routes` once every blueprint is registered. No list by hand,
  so a new token route is redacted from its first request. A certificate's
  verification code in a query string (`?code=`) becomes `<code>`.
- `RedactingFilter`: a logging filter applying `redact` to every record; the
  app installs it on its own handlers and the root logger's.
- `GunicornLogger`: gunicorn's access log writes the request line, which
  holds the token; the Procfile runs gunicorn with this logger class.
  gunicorn sets its logger up before it loads the app, but logs a request
  only after: the app is built in the same process first (in the master
  with preload_app, else in each worker before it serves), so the token
  routes are known by then.

With QUIZ_LOG_FORMAT=json (the default when QUIZ_ENV=production) every
handler writes one JSON object per line (`JsonFormatter`): time, level,
logger, message, process, and the traceback if any, all after redaction, so
a log collector can index the fields without parsing free text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from werkzeug.routing import Map

from quiz.urls import TokenConverter

# A variable in a rule, in werkzeug's syntax: <name> or <converter(arguments):name>.
_RULE_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\([^)]*\))?:)?[a-zA-Z_]\w*>")
# The token itself, wherever a path is written down: a request line, a
# Referer, a message. It ends where a path segment or a URL ends.
_TOKEN = r"[^/\s?#\"'<>]+"
# Regexes for the paths before a token segment, learnt from the URL maps of
# the apps built in this process, and the pattern made of them.
_token_prefixes: set[str] = set()
_token_path: re.Pattern[str] | None = None
# Deliberately narrower than RFC 5322 in the local part, so a path or query
# before an address is not swallowed; "%40" is an address in a query string.
_EMAIL = re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# A certificate's verification code in the public check's query string
# (quiz.followups.certificate_views): it leads to a name, so it stays out too.
_CERTIFICATE_CODE = re.compile(r"([?&]code=)[^&\s\"'#]*")


def hash_email(address: str) -> str:
    """A short stable fingerprint of an address, for logs."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()[:10]


def token_prefixes(url_map: Map) -> set[str]:
    """For each route of `url_map` with a token segment: a regex for the
    path before that segment (variables before it match any one segment)."""
    prefixes = set()
    for rule in url_map.iter_rules():
        before, end = "", 0
        for variable in _RULE_VARIABLE.finditer(rule.rule):
            before += re.escape(rule.rule[end : variable.start()])
            end = variable.end()
            converter = url_map.converters.get(variable["converter"] or "default")
            if isinstance(converter, type) and issubclass(converter, TokenConverter):
                prefixes.add(before)
            before += r"[^/]+"
    return prefixes


def learn_token_routes(url_map: Map) -> None:
    """From now on, `redact` in this process removes the tokens of
    `url_map`'s token routes (as well as those it knew already)."""
    global _token_path
    new = token_prefixes(url_map) - _token_prefixes
    if new:
        _token_prefixes.update(new)
        alternatives = "|".join(sorted(_token_prefixes, key=lambda p: (-len(p), p)))
        _token_path = re.compile(f"({alternatives})" + _TOKEN)


def knows_token_routes() -> bool:
    return _token_path is not None


def redact(text: str) -> str:
    """`text` with email addresses hashed, link tokens and certificate codes removed."""
    if _token_path is not None:
        # Again until nothing changes: matches do not overlap, so of a path
        # with two tokens one pass takes only one. A redacted segment ("<token>")
        # is never taken again, so this ends.
        redacted = _token_path.sub(r"\1<token>", text)
        while redacted != text:
            text, redacted = redacted, _token_path.sub(r"\1<token>", redacted)
    text = _CERTIFICATE_CODE.sub(r"\1<code>", text)
    return _EMAIL.sub(lambda m: f"<e-mail #{hash_email(m.group(0).replace('%40', '@'))}>", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and a formatted traceback) through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in a traceback are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            event["exc"] = record.exc_text
        return json.dumps(event, ensure_ascii=False)


_JSON = JsonFormatter()


def install(*loggers: logging.Logger, json_lines: bool = False) -> None:
    """Put the filter on every handler of these loggers (records from child
    loggers pass their parents' handlers, not their parents' filters), and
    the JSON formatter when `json_lines`."""
    for logger in loggers:
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
            if json_lines:
                handler.setFormatter(_JSON)


def init_app(app: Flask) -> None:
    # app.logger creates Flask's default handler on first access.
    json_lines = app.config.get("QUIZ_LOG_FORMAT") == "json"
    install(app.logger, logging.getLogger(), logging.getLogger("werkzeug"), json_lines=json_lines)


try:  # gunicorn is a dependency of the web process, not of every use of the package
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = None  # type: ignore[assignment,misc]

if _GunicornLogger is not None:

    class GunicornLogger(_GunicornLogger):
        """gunicorn's logger with redacted access-log lines: the request line,
        path, query and referer lose their tokens and email addresses."""

        def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
            atoms = super().atoms(resp, req, environ, request_time)
            known = knows_token_routes()
            for key in ("r", "U", "q", "f"):
                if isinstance(atoms.get(key), str):
                    # No app built in this process (cannot happen with our
                    # wsgi.py): the paths are left out rather than risked.
                    atoms[key] = redact(atoms[key]) if known else "<not logged>"
            return atoms

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            install(self.error_log, self.access_log, json_lines=_json_wanted())


def _json_wanted() -> bool:
    """QUIZ_LOG_FORMAT as create_app reads it, for gunicorn's own logs (set up before the app)."""
    from quiz.config import load_settings

    return load_settings(env_file=".env")["QUIZ_LOG_FORMAT"] == "json"
