"""Reading the bounce mailbox over IMAP (imaplib) for `quiz bounces fetch`.

QUIZ_IMAP_URL says where: `imaps://user:password@host:993/INBOX`, or
`imap://…?starttls=1` for STARTTLS on port 143 (plain `imap://` without it
is for tests on loopback; `quiz check` flags it). User and password are
percent-encoded like any URL.

Each unread message is read without marking it (BODY.PEEK), processed
(quiz.delivery.bounces.process, which commits), and only then flagged: a processed
bounce is deleted; anything else (a reply from a person, a bounce we cannot
attribute) is marked read and left for a person to look at. A crash
between the commit and the flag reads the message again next time, which is
harmless: recording a bounce is idempotent.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask

from quiz.db import session_scope
from quiz.delivery.bounces import process

log = logging.getLogger(__name__)

HANDLED = {"hard", "soft", "soft-to-hard", "delayed", "duplicate"}
MAX_MESSAGE_BYTES = 5 * 1024 * 1024  # a DSN carrying a huge original is cut off by its sender anyway


@dataclass(frozen=True)
class MailboxURL:
    scheme: str
    host: str
    port: int
    user: str
    password: str
    mailbox: str
    starttls: bool

    @classmethod
    def parse(cls, url: str) -> MailboxURL:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("QUIZ_IMAP_URL must look like imaps://user:password@host:993/INBOX")
        query = parse_qs(parts.query)
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port or (993 if parts.scheme == "imaps" else 143),
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        )

    def connect(self, timeout: float = 30) -> imaplib.IMAP4:
        if self.scheme == "imaps":
            return imaplib.IMAP4_SSL(
                self.host, self.port, ssl_context=ssl.create_default_context(), timeout=timeout
            )
        conn = imaplib.IMAP4(self.host, self.port, timeout=timeout)
        if self.starttls:
            conn.starttls(ssl.create_default_context())
        return conn


@dataclass(frozen=True)
class FetchReport:
    outcomes: dict[str, int]

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items())) or "no new messages"


def fetch(app: Flask, now: datetime, limit: int = 500) -> FetchReport:
    """Process up to `limit` unread messages of the bounce mailbox."""
    cfg = app.config
    url = MailboxURL.parse(cfg["QUIZ_IMAP_URL"])
    outcomes: Counter[str] = Counter()
    conn = url.connect()
    try:
        conn.login(url.user, url.password)
        conn.select(_quote(url.mailbox))
        _, data = conn.uid("SEARCH", None, "UNSEEN")
        uids = (data[0] or b"").split()[:limit]
        with app.app_context(), session_scope(app) as session:
            for uid in uids:
                raw = _read(conn, uid)
                if raw is None:
                    continue
                try:
                    outcome = process(session, raw, cfg, now)
                except Exception:  # one bad message (or a database hiccup) must not stop the rest
                    session.rollback()
                    log.exception("bounce message %s could not be processed; left unread", uid.decode())
                    outcomes["error"] += 1
                    continue
                outcomes[outcome.result] += 1
                flags = r"(\Seen \Deleted)" if outcome.result in HANDLED else r"(\Seen)"
                conn.uid("STORE", uid, "+FLAGS", flags)
        conn.expunge()
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            conn.logout()
    return FetchReport(dict(outcomes))


def _read(conn: imaplib.IMAP4, uid: bytes) -> bytes | None:
    _, data = conn.uid("FETCH", uid, f"(BODY.PEEK[]<0.{MAX_MESSAGE_BYTES}>)")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
