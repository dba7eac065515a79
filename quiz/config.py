"""Settings from the environment or a `.env` file, with embedded defaults.

Every setting has a name starting with ``QUIZ_``. The defaults run the whole
product on one machine with no services: SQLite under ``instance/`` and the
dev mailbox instead of SMTP.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

DEV_SECRET_KEY = "dev-only-not-secret"
# Reads well in a sentence ("Je krijgt deze e-mail van het MeldcodeQuiz-team");
# `quiz check` warns when production still uses it.
DEFAULT_ORGANISATION_NAME = "het MeldcodeQuiz-team"

# name -> (default, parser). A default of None means "derived" or "unset".
_BOOL_TRUE = {"1", "true", "yes", "on"}


# The logo's file types a browser shows in <img>, with their media types.
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp"}  # fmt: skip


def _bool(value: str) -> bool:
    return value.strip().lower() in _BOOL_TRUE


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


SETTINGS: dict[str, tuple[Any, Any]] = {
    "QUIZ_ENV": ("development", str),
    "QUIZ_DATABASE_URL": (None, str),
    "QUIZ_SECRET_KEY": (None, str),
    "QUIZ_SECRET_KEY_FALLBACKS": ([], _list),
    "QUIZ_BASE_URL": ("http://127.0.0.1:5000", str),
    "QUIZ_MAIL_BACKEND": ("dev", str),
    "QUIZ_SMTP_URL": ("smtp://127.0.0.1:25", str),
    "QUIZ_MAIL_FROM": ("MeldcodeQuiz <quiz@meldcodequiz.localhost>", str),
    # The relay offers SMTPUTF8 (RFC 6531), so addresses like jörg@example.org
    # can be mailed; off: signup refuses them. `quiz check` asks the relay.
    "QUIZ_SMTPUTF8": (False, _bool),
    # Who runs this quiz (quiz/organisation.py): named in the footer, the
    # colofon, the privacy statement (as the controller) and the emails.
    "QUIZ_ORGANISATION_NAME": (None, str),
    "QUIZ_ORGANISATION_ADDRESS": (None, str),
    "QUIZ_ORGANISATION_WEBSITE": (None, str),
    "QUIZ_ORGANISATION_KVK": (None, str),
    "QUIZ_CONTACT_EMAIL": ("contact@meldcodequiz.localhost", str),
    "QUIZ_CONTACT_PHONE": (None, str),
    "QUIZ_LOGO_FILE": (None, str),
    # How long the operator keeps the web server's logs (journal, nginx). The
    # app cannot enforce it; the privacy statement names it, so set the log
    # rotation to match (docs/deploy.md, "Logs").
    "QUIZ_LOG_RETENTION_DAYS": (14, int),
    # The earlier name of QUIZ_ORGANISATION_NAME, still read when that is unset.
    "QUIZ_ORGANISER_NAME": (None, str),
    "QUIZ_RATELIMIT_STORAGE_URL": ("memory://", str),
    # Separates the counters of installations that share one Redis.
    "QUIZ_RATELIMIT_KEY_PREFIX": ("quiz", str),
    "QUIZ_EMAIL_CHECK_DELIVERABILITY": (False, _bool),
    "QUIZ_TOKEN_MAX_AGE_DAYS": (7, int),
    "QUIZ_CONFIRM_RESEND_MINUTES": (10, int),
    "QUIZ_OUTBOX_BATCH_SIZE": (200, int),
    "QUIZ_OUTBOX_LEASE_SECONDS": (300, int),
    "QUIZ_SCHEDULER_INTERVAL_SECONDS": (5, int),
    "QUIZ_PLANNER_INTERVAL_SECONDS": (60, int),
    "QUIZ_OUTBOX_COMMIT_EVERY": (20, int),
    "QUIZ_OUTBOX_COMMIT_SECONDS": (0.5, float),
    "QUIZ_OUTBOX_RETRY_HOURS": (24, int),
    "QUIZ_SMTP_RATE": (0.0, float),
    "QUIZ_DEV_MAILBOX_DIR": (None, str),
    "QUIZ_PRIVACY_CONTACT": ("privacy@meldcodequiz.localhost", str),
    "QUIZ_RETENTION_DAYS": (90, int),
    # Operations (docs/deploy.md).
    "QUIZ_PROXY_HOPS": (0, int),
    "QUIZ_SCHEDULER_PROCESSES": (1, int),
    "QUIZ_LOG_FORMAT": (None, str),
    "QUIZ_METRICS_TOKEN": (None, str),
    "QUIZ_DKIM_KEY_FILE": (None, str),
    "QUIZ_DKIM_SELECTOR": (None, str),
    "QUIZ_DKIM_DOMAIN": (None, str),
    "QUIZ_BOUNCE_ADDRESS": (None, str),
    "QUIZ_IMAP_URL": (None, str),
    "QUIZ_BOUNCE_FETCH_SECONDS": (300, int),
    # Retired: read only so that `quiz check` can say it no longer does anything.
    "QUIZ_SMTP_CONNECTIONS": (None, str),
}


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = ".env",
    instance_path: str | os.PathLike[str] = "instance",
) -> dict[str, Any]:
    """Read every QUIZ_ setting: environment first, then `.env`, then the default.

    The real environment wins over `.env` so an operator can override one value
    for one run without editing the file.
    """
    source: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        source.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    source.update(os.environ if environ is None else environ)

    settings: dict[str, Any] = {}
    for name, (default, parse) in SETTINGS.items():
        raw = source.get(name)
        settings[name] = parse(raw) if raw not in (None, "") else default

    instance = Path(instance_path)
    if settings["QUIZ_DATABASE_URL"] is None:
        settings["QUIZ_DATABASE_URL"] = f"sqlite:///{(instance / 'quiz.sqlite3').resolve()}"
    if settings["QUIZ_DEV_MAILBOX_DIR"] is None:
        settings["QUIZ_DEV_MAILBOX_DIR"] = str((instance / "dev-mailbox").resolve())
    if settings["QUIZ_SECRET_KEY"] is None and settings["QUIZ_ENV"] in ("development", "testing"):
        settings["QUIZ_SECRET_KEY"] = DEV_SECRET_KEY
    settings["QUIZ_BASE_URL"] = settings["QUIZ_BASE_URL"].rstrip("/")
    if settings["QUIZ_ORGANISATION_NAME"] is None:
        settings["QUIZ_ORGANISATION_NAME"] = settings["QUIZ_ORGANISER_NAME"] or DEFAULT_ORGANISATION_NAME
    if settings["QUIZ_LOG_FORMAT"] is None:
        # One JSON object per line where a log collector reads them; plain text at a terminal.
        settings["QUIZ_LOG_FORMAT"] = "json" if settings["QUIZ_ENV"] == "production" else "text"
    return settings


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message says which and how to fix it."""


def check_required(settings: Mapping[str, Any]) -> None:
    """Refuse to start with settings that would be unsafe or cannot work."""
    if not settings.get("QUIZ_SECRET_KEY"):
        raise ConfigError(
            "QUIZ_SECRET_KEY is not set. Outside development every link would be "
            "forgeable; set it in the environment or .env, e.g. "
            "QUIZ_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if int(settings.get("QUIZ_OUTBOX_RETRY_HOURS", 24)) < 1:
        raise ConfigError("QUIZ_OUTBOX_RETRY_HOURS must be at least 1 (hours a deferred email is retried).")
    if int(settings.get("QUIZ_RETENTION_DAYS", 90)) < 1:
        raise ConfigError("QUIZ_RETENTION_DAYS must be at least 1 (days after the last quiz day).")
    if settings.get("QUIZ_MAIL_BACKEND") not in ("dev", "smtp"):
        raise ConfigError("QUIZ_MAIL_BACKEND must be 'smtp' or 'dev'.")
    logo = settings.get("QUIZ_LOGO_FILE")
    if logo:
        if Path(logo).suffix.lower() not in LOGO_TYPES:
            raise ConfigError(f"QUIZ_LOGO_FILE must be one of {', '.join(sorted(LOGO_TYPES))}: {logo}")
        if not Path(logo).is_file():
            raise ConfigError(f"QUIZ_LOGO_FILE {logo} does not exist (or is not a file).")
