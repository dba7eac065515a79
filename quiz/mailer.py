"""Rendering emails and handing them to a transport.

Templates live in `email_templates/` as three files per kind:
`<kind>.subject.txt`, `<kind>.txt` and `<kind>.html`. The HTML part gets its
CSS inlined (mail clients drop <style> blocks). Messages are built with the
compat32 MIME classes: they produce the same bytes as EmailMessage for our
simple multipart/alternative messages at a third of the cost, which matters
when 100,000 personalised emails go out in one morning.
"""

from __future__ import annotations

import contextlib
import mailbox
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from quiz.formatting import dutch_date, dutch_time

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "email_templates"

# smtplib sends bytes as they are, so the line ends must already be CRLF.
_WIRE = compat32.clone(linesep="\r\n")

_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


@lru_cache(maxsize=4)
def template_env(directory: str = str(TEMPLATE_DIR)) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["dutch_date"] = dutch_date
    env.filters["dutch_time"] = dutch_time
    return env


_inliner = css_inline.CSSInliner(keep_style_tags=False)


@dataclass
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(kind: str, context: Mapping[str, Any]) -> RenderedEmail:
    """Render the three templates of `kind` with `context`."""
    env = template_env()
    subject = env.get_template(f"{kind}.subject.txt").render(context)
    text = env.get_template(f"{kind}.txt").render(context)
    html = _inliner.inline(env.get_template(f"{kind}.html").render(context))
    # A subject is one line whatever the template or the data says.
    return RenderedEmail(" ".join(subject.split()), text, html)


def clean_header_text(value: str | None) -> str:
    """Text fit for a header: no CR/LF or other control characters, bounded length."""
    if not value:
        return ""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())[:200]


@dataclass
class Envelope:
    to_addr: str
    to_name: str | None
    message_id: str
    extra_headers: dict[str, str] = field(default_factory=dict)


def build_message(email: RenderedEmail, envelope: Envelope, mail_from: str, date: datetime) -> bytes:
    """The wire bytes of a multipart/alternative message.

    Headers are set through the email package, never by concatenating
    participant input: names are stripped of control characters and encoded.
    """
    msg = MIMEMultipart("alternative")
    from_name, from_addr = parseaddr(mail_from)
    msg["From"] = formataddr((str(Header(from_name, "utf-8")), from_addr)) if from_name else from_addr
    to_name = clean_header_text(envelope.to_name)
    msg["To"] = formataddr((str(Header(to_name, "utf-8")), envelope.to_addr)) if to_name else envelope.to_addr
    msg["Subject"] = Header(clean_header_text(email.subject), "utf-8")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = envelope.message_id
    msg["MIME-Version"] = "1.0"
    for name, value in envelope.extra_headers.items():
        msg[name] = clean_header_text(value)
    msg.attach(MIMEText(email.text, "plain", _UTF8_QP))
    msg.attach(MIMEText(email.html, "html", _UTF8_QP))
    return msg.as_bytes(policy=_WIRE)


class SendError(Exception):
    """A message could not be sent. `permanent` follows the SMTP reply class:
    5xx for the recipient is permanent, 4xx and connection trouble are not."""

    def __init__(self, message: str, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class Transport(Protocol):
    def __enter__(self) -> Transport: ...
    def __exit__(self, *exc: object) -> None: ...
    def send(self, envelope_from: str, to_addr: str, data: bytes) -> None: ...


@dataclass
class SMTPSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    mode: str  # "plain", "starttls" or "ssl"
    timeout: float


def parse_smtp_url(url: str) -> SMTPSettings:
    """`smtp://user:pass@host:587?starttls=1` or `smtps://host:465` (SSL)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"QUIZ_SMTP_URL must start with smtp:// or smtps://, not {parts.scheme!r}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "smtps" or query.get("ssl") in ("1", "true"):
        mode, default_port = "ssl", 465
    elif query.get("starttls") in ("1", "true"):
        mode, default_port = "starttls", 587
    else:
        mode, default_port = "plain", 25
    return SMTPSettings(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        mode=mode,
        timeout=float(query.get("timeout", 30)),
    )


def _classify(code: int, text: bytes | str) -> SendError:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return SendError(f"{code} {detail}".strip(), permanent=500 <= code < 600, code=code)


class SMTPTransport:
    """One SMTP connection, reused for every message of a batch."""

    def __init__(self, settings: SMTPSettings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None

    def __enter__(self) -> SMTPTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.mode == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.mode == "starttls":
                    conn.starttls(context=ssl.create_default_context())
            if s.username:
                conn.login(s.username, s.password or "")
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"connection to {s.host}:{s.port} failed: {exc}", permanent=False) from exc
        return conn

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._conn.quit()
            self._conn = None

    def send(self, envelope_from: str, to_addr: str, data: bytes) -> None:
        if self._conn is None:
            self._conn = self._connect()
        try:
            refused = self._conn.sendmail(envelope_from, [to_addr], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(to_addr, (550, b"recipient refused"))
            self._reset()
            raise _classify(code, text) from exc
        except smtplib.SMTPResponseException as exc:
            # Sender refused, data refused or an unexpected reply: the server
            # said so explicitly, the reply class decides.
            self._reset()
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise SendError(f"connection lost: {exc}", permanent=False) from exc
        if refused:  # only possible with several recipients, checked all the same
            code, text = refused.get(to_addr, (550, b"recipient refused"))
            raise _classify(code, text)

    def _reset(self) -> None:
        """After a refusal the session may be mid-transaction: RSET or reconnect."""
        try:
            assert self._conn is not None
            self._conn.rset()
        except (OSError, smtplib.SMTPException, AssertionError):
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


class DevMailboxTransport:
    """Stores messages in a Maildir under instance/ for /dev/mailbox to show."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def __enter__(self) -> DevMailboxTransport:
        self._box = mailbox.Maildir(self.directory, create=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._box.close()

    def send(self, envelope_from: str, to_addr: str, data: bytes) -> None:
        self._box.add(data)


def transport_from_config(config: Mapping[str, Any]) -> Transport:
    if config["QUIZ_MAIL_BACKEND"] == "dev":
        return DevMailboxTransport(config["QUIZ_DEV_MAILBOX_DIR"])
    return SMTPTransport(parse_smtp_url(config["QUIZ_SMTP_URL"]))


def mail_domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
