"""Production readiness: what is missing or unsafe in the settings.

Pure rules over the settings and the process layout (`Layout`), so a test
can state each case in one line. `quiz check` prints them and exits non-zero
on an error; the web and scheduler processes log them at start-up when
QUIZ_ENV=production.

An *error* is unsafe or will not work (forgeable links, two schedulers on
one SQLite file, per-process rate limits under several workers). A
*warning* works but hurts (no DKIM signature: more mail lands in spam).

`quiz check` also asks the relay itself (`Relay`): whether it can be
reached, and whether it offers SMTPUTF8 as QUIZ_SMTPUTF8 says. The start-up
log does not: a process must start while the relay is down.
"""

from __future__ import annotations

import logging
import os
import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from quiz.config import DEFAULT_ORGANISATION_NAME, DEV_SECRET_KEY

log = logging.getLogger("quiz.ops.checks")

MIN_SECRET_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 24
GUNICORN_CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper():7} {self.setting}: {self.message}"


@dataclass(frozen=True)
class Relay:
    """What the relay said to EHLO: its keywords (lower case), or why nothing could be asked."""

    features: frozenset[str] = frozenset()
    error: str | None = None


@dataclass(frozen=True)
class Layout:
    """How the processes run: web worker processes per machine, scheduler processes in all."""

    web_workers: int
    schedulers: int


def web_workers(environ: Mapping[str, str] | None = None, conf: Path = GUNICORN_CONF) -> int:
    """Worker processes per web server: WEB_CONCURRENCY, else what gunicorn.conf.py computes."""
    environ = os.environ if environ is None else environ
    if environ.get("WEB_CONCURRENCY"):
        return int(environ["WEB_CONCURRENCY"])
    if conf.is_file():
        return int(runpy.run_path(str(conf)).get("workers", 1))
    return 1


def check(settings: Mapping[str, Any], layout: Layout, relay: Relay | None = None) -> list[Finding]:
    """Everything that is missing or unsafe for production, errors first
    (the relay's findings only when `relay` says what it offers)."""
    found: list[Finding] = []

    def error(setting: str, message: str) -> None:
        found.append(Finding("error", setting, message))

    def warn(setting: str, message: str) -> None:
        found.append(Finding("warning", setting, message))

    secret = settings.get("QUIZ_SECRET_KEY") or ""
    if not secret or secret == DEV_SECRET_KEY:
        error("QUIZ_SECRET_KEY", "not set: every link in every email could be forged.")
    elif len(secret) < MIN_SECRET_LENGTH:
        error(
            "QUIZ_SECRET_KEY", f"shorter than {MIN_SECRET_LENGTH} characters; use secrets.token_urlsafe(48)."
        )

    database = str(settings.get("QUIZ_DATABASE_URL") or "")
    if database.startswith("sqlite"):
        if layout.schedulers > 1:
            error(
                "QUIZ_DATABASE_URL",
                f"SQLite with {layout.schedulers} scheduler processes: SQLite has no row locks to "
                "share the outbox; use PostgreSQL or run one scheduler.",
            )
        else:
            warn("QUIZ_DATABASE_URL", "SQLite: fine for one machine; PostgreSQL to grow past it.")

    base_url = str(settings.get("QUIZ_BASE_URL") or "")
    if not base_url.startswith("https://"):
        error(
            "QUIZ_BASE_URL", f"{base_url or '(empty)'} is not https: links and cookies travel in the clear."
        )

    if settings.get("QUIZ_MAIL_BACKEND") != "smtp":
        error("QUIZ_MAIL_BACKEND", "not 'smtp': mail goes to the dev mailbox, which anyone can read.")

    storage = str(settings.get("QUIZ_RATELIMIT_STORAGE_URL") or "memory://")
    if storage.startswith("memory") and layout.web_workers > 1:
        error(
            "QUIZ_RATELIMIT_STORAGE_URL",
            f"memory:// with {layout.web_workers} web workers: each counts alone, so every "
            "limit is that many times too loose; use redis://.",
        )

    found.extend(_dkim(settings))
    if relay is not None and settings.get("QUIZ_MAIL_BACKEND") == "smtp":
        found.extend(_relay(settings, relay))

    token = settings.get("QUIZ_METRICS_TOKEN")
    if token and len(token) < MIN_METRICS_TOKEN_LENGTH:
        error("QUIZ_METRICS_TOKEN", f"shorter than {MIN_METRICS_TOKEN_LENGTH} characters: guessable.")

    if settings.get("QUIZ_BOUNCE_ADDRESS") and not settings.get("QUIZ_IMAP_URL"):
        warn("QUIZ_IMAP_URL", "not set: bounces go to QUIZ_BOUNCE_ADDRESS but nothing reads them.")
    imap = str(settings.get("QUIZ_IMAP_URL") or "")
    if imap and not imap.startswith("imaps://") and "starttls=1" not in imap:
        error("QUIZ_IMAP_URL", "plain imap:// sends the mailbox password in the clear; use imaps://.")
    if not settings.get("QUIZ_BOUNCE_ADDRESS"):
        warn(
            "QUIZ_BOUNCE_ADDRESS", "not set: bounces that come back later never reach a participant's record."
        )

    if settings.get("QUIZ_SMTP_CONNECTIONS"):
        warn(
            "QUIZ_SMTP_CONNECTIONS",
            "no longer used: each scheduler process sends over one SMTP connection. To send "
            "faster, run more scheduler processes (PostgreSQL) and set QUIZ_SCHEDULER_PROCESSES "
            "to their total (docs/deploy.md, More machines).",
        )

    found.extend(_organisation(settings))

    if settings.get("QUIZ_PROXY_HOPS", 0) == 0:
        warn("QUIZ_PROXY_HOPS", "0: behind a proxy every client has the proxy's address (rate limits, HSTS).")
    return sorted(found, key=lambda f: f.level != "error")


def _organisation(settings: Mapping[str, Any]) -> list[Finding]:
    """Who runs the quiz: the privacy statement names them as the controller
    and the colofon gives their address, so placeholders mislead participants."""
    found = []
    if settings.get("QUIZ_ORGANISATION_NAME") == DEFAULT_ORGANISATION_NAME:
        found.append(
            Finding(
                "warning",
                "QUIZ_ORGANISATION_NAME",
                "not set: the privacy statement, colofon, footer and emails name no real organisation.",
            )
        )
    for name in ("QUIZ_CONTACT_EMAIL", "QUIZ_PRIVACY_CONTACT"):
        if str(settings.get(name) or "").endswith(".localhost"):
            found.append(
                Finding("warning", name, "a .localhost address: participants who write to it reach nobody.")
            )
    if settings.get("QUIZ_ORGANISER_NAME"):
        found.append(
            Finding("warning", "QUIZ_ORGANISER_NAME", "now QUIZ_ORGANISATION_NAME (still read).")
        )
    return found


def _dkim(settings: Mapping[str, Any]) -> list[Finding]:
    key_file = settings.get("QUIZ_DKIM_KEY_FILE")
    if not key_file:
        return [
            Finding(
                "warning", "QUIZ_DKIM_KEY_FILE", "no DKIM key: mail is unsigned and more of it lands in spam."
            )
        ]
    found = []
    for name in ("QUIZ_DKIM_SELECTOR", "QUIZ_DKIM_DOMAIN"):
        if not settings.get(name):
            found.append(Finding("error", name, "needed with QUIZ_DKIM_KEY_FILE."))
    if not os.access(key_file, os.R_OK):
        found.append(Finding("error", "QUIZ_DKIM_KEY_FILE", f"{key_file} cannot be read."))
    from_domain = parseaddr(str(settings.get("QUIZ_MAIL_FROM") or ""))[1].rpartition("@")[2].lower()
    domain = str(settings.get("QUIZ_DKIM_DOMAIN") or "").lower()
    if domain and from_domain and from_domain != domain and not from_domain.endswith("." + domain):
        # DMARC passes on DKIM only when the signing domain is (a parent of) the From domain.
        found.append(
            Finding("warning", "QUIZ_DKIM_DOMAIN", f"{domain} does not match the From domain {from_domain}.")
        )
    return found


def _relay(settings: Mapping[str, Any], relay: Relay) -> list[Finding]:
    if relay.error is not None:
        return [Finding("error", "QUIZ_SMTP_URL", f"the relay cannot be reached: {relay.error}")]
    offered = "smtputf8" in relay.features
    if settings.get("QUIZ_SMTPUTF8") and not offered:
        return [
            Finding(
                "error",
                "QUIZ_SMTPUTF8",
                "on, but the relay does not offer SMTPUTF8: mail to addresses like jörg@example.org "
                "fails. Turn it on at the relay (Postfix: smtputf8_enable = yes) or this setting off "
                "(signup then refuses such addresses).",
            )
        ]
    if offered and not settings.get("QUIZ_SMTPUTF8"):
        return [
            Finding(
                "warning",
                "QUIZ_SMTPUTF8",
                "off, but the relay offers SMTPUTF8: signup refuses addresses like jörg@example.org "
                "that could be mailed; set QUIZ_SMTPUTF8=true.",
            )
        ]
    return []


def log_findings(settings: Mapping[str, Any]) -> list[Finding]:
    """At start-up in production: one log line per finding (no secret is ever part of one)."""
    if settings.get("QUIZ_ENV") != "production":
        return []
    layout = Layout(web_workers(), int(settings.get("QUIZ_SCHEDULER_PROCESSES", 1)))
    findings = check(settings, layout)
    for finding in findings:
        log.log(logging.ERROR if finding.level == "error" else logging.WARNING, "quiz check: %s", finding)
    return findings
