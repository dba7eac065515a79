"""Rendering emails and handing them to a transport.

Templates live in `email_templates/` as three files per kind:
`<kind>.subject.txt`, `<kind>.txt` and `<kind>.html`. The HTML part gets its
CSS inlined (mail clients drop <style> blocks). `build_message` writes the
wire bytes of a text + HTML message with headers from the email package; the
SMTP transport sends them and classifies the server's refusals.
"""

from __future__ import annotations

import contextlib
import mailbox
import os
import secrets
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from quiz.formatting import dutch_date, dutch_time
from quiz.qp import qp_body
from quiz.smtp_wire import MailChannel, Refused

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "email_templates"

# smtplib sends bytes as they are, so the line ends must already be CRLF.
CRLF = "\r\n"


# How often a long-running process looks for edited email templates.
TEMPLATE_RECHECK_SECONDS = 2.0
_envs: dict[str, tuple[Environment, tuple[tuple[str, int, int], ...], float]] = {}


def _template_files(directory: str) -> tuple[tuple[str, int, int], ...]:
    stats = ((e.name, e.stat()) for e in os.scandir(directory) if e.is_file())
    return tuple(sorted((name, st.st_mtime_ns, st.st_size) for name, st in stats))


def template_env(directory: str = str(TEMPLATE_DIR)) -> Environment:
    """The Jinja environment of an email template directory.

    Jinja's own reload check stats every template file, includes and layout
    too, on every render (seven stat calls per question email). Instead the
    directory is looked at once every TEMPLATE_RECHECK_SECONDS, and an edited
    template gets a fresh environment (so a cache of rendered output can key
    on the environment, as quiz.stencil does).
    """
    now = time.monotonic()
    entry = _envs.get(directory)
    if entry is not None and now - entry[2] < TEMPLATE_RECHECK_SECONDS:
        return entry[0]
    files = _template_files(directory)
    if entry is not None and entry[1] == files:
        _envs[directory] = (entry[0], files, now)
        return entry[0]
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["dutch_date"] = dutch_date
    env.filters["dutch_time"] = dutch_time
    _envs[directory] = (env, files, now)
    return env


_inliner = css_inline.CSSInliner(keep_style_tags=False)


@dataclass(frozen=True, eq=False)
class RenderedEmail:
    subject: str
    text: str
    html: str
    # The text and HTML as build_message writes them (`quiz.qp.qp_body`), when the
    # renderer already has them (quiz.stencil); None: encoded from text and html.
    # It can never disagree with them: the email is frozen, and wire is no
    # argument of __init__, so dataclasses.replace(email, html=...) leaves it out.
    wire: tuple[bytes, bytes] | None = field(default=None, init=False, repr=False)

    def __eq__(self, other: object) -> bool:
        # Any two with the same parts, subclasses too (quiz.stencil's fills in
        # its text and HTML only when they are read).
        if not isinstance(other, RenderedEmail):
            return NotImplemented
        return (self.subject, self.text, self.html) == (other.subject, other.text, other.html)

    __hash__ = None  # type: ignore[assignment]  # unhashable, as before: nothing keys on an email


def render_email(kind: str, context: Mapping[str, Any], directory: str = str(TEMPLATE_DIR)) -> RenderedEmail:
    """Render the three templates of `kind` with `context`.

    quiz.stencil.StencilRenderer gives the same result faster for mass mailings."""
    subject, text = render_text_parts(kind, context, directory)
    return RenderedEmail(subject, text, inline_css(render_html(kind, context, directory)))


def render_text_parts(
    kind: str, context: Mapping[str, Any], directory: str = str(TEMPLATE_DIR)
) -> tuple[str, str]:
    """Subject and plain-text body of `kind`."""
    env = template_env(directory)
    subject = env.get_template(f"{kind}.subject.txt").render(context)
    text = env.get_template(f"{kind}.txt").render(context)
    # A subject is one line whatever the template or the data says.
    return " ".join(subject.split()), text


def render_html(kind: str, context: Mapping[str, Any], directory: str = str(TEMPLATE_DIR)) -> str:
    """The HTML body of `kind`, before its CSS is inlined."""
    return template_env(directory).get_template(f"{kind}.html").render(context)


def inline_css(html: str) -> str:
    """Move the <style> rules into style attributes (mail clients drop <style> blocks)."""
    return _inliner.inline(html)


def clean_header_text(value: str | None) -> str:
    """Text fit for a header: no CR/LF or other control characters, bounded length."""
    if not value:
        return ""
    if not value.isprintable():
        value = "".join(ch if ch.isprintable() else " " for ch in value)
    return " ".join(value.split())[:200]


@dataclass
class Envelope:
    to_addr: str
    to_name: str | None
    message_id: str
    extra_headers: dict[str, str] = field(default_factory=dict)


def _address(name: str | None, addr: str, header: str) -> str:
    """`Name <addr>` with the name quoted or RFC 2047-encoded by the email package."""
    if any(ch in addr for ch in '\r\n<>"(), ') or "@" not in addr:
        raise ValueError(f"not a usable email address: {addr!r}")
    name = clean_header_text(name)
    if not name:
        return addr
    if name.isascii():
        return formataddr((name, addr))
    return f"{Header(name, 'utf-8', header_name=header).encode(linesep=CRLF)} <{addr}>"


def _header_line(name: str, value: str) -> bytes:
    """One header, folded and encoded by email.header (UTF-8 only when needed).

    A printable ASCII header that fits on one line (78 characters) is what
    Header.encode gives back unchanged, and one without a place to fold it
    is what it puts on the next line (tests/test_smtp_message.py compares
    them), so those are written directly: every To line and every
    List-Unsubscribe differs, and Header.encode costs tens of microseconds.
    """
    if value.isascii() and value.isprintable():
        if len(name) + len(value) <= 76:
            return f"{name}: {value}{CRLF}".encode("ascii")
        if _HEADER_SPLITS.isdisjoint(value):
            # One word that Header cannot fold (List-Unsubscribe's <link>,
            # different in every message): it goes on a line of its own.
            return f"{name}: {CRLF} {value}{CRLF}".encode("ascii")
    return _encoded_header_line(name, value)


# Where email.header may fold a printable ASCII header (its splitchars and space).
_HEADER_SPLITS = frozenset(";, \t")


@lru_cache(maxsize=1024)
def _encoded_header_line(name: str, value: str) -> bytes:
    # Cached: a long Subject or a non-ASCII From repeats across a morning's batch.
    charset = "us-ascii" if value.isascii() else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(linesep=CRLF)
    return f"{name}: {encoded}{CRLF}".encode("ascii")


@lru_cache(maxsize=8)
def _date_line(date: datetime, offset: timedelta | None) -> bytes:
    # Cached per second: format_datetime costs about 10 us and a morning's
    # messages share their second with hundreds of others. It prints no
    # microseconds; the offset is part of the key because datetimes in
    # different zones compare equal when they are the same instant.
    return _header_line("Date", format_datetime(date))


@lru_cache(maxsize=8)
def _from_header(mail_from: str) -> bytes:
    from_name, from_addr = parseaddr(mail_from)
    return _header_line("From", _address(from_name, from_addr, "From"))


_PART = (
    b'Content-Type: text/%s; charset="utf-8"\r\n'
    b"MIME-Version: 1.0\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
)


def build_message(email: RenderedEmail, envelope: Envelope, mail_from: str, date: datetime) -> bytes:
    """The wire bytes (CRLF) of a multipart/alternative message: text and HTML.

    Every header goes through the email package (`formataddr`, `Header`), never
    by pasting participant input into a header line: names lose control
    characters and are encoded. The MIME skeleton around the two
    quoted-printable parts is fixed, so it is written out directly: this is
    the hot path when 100,000 personalised emails go out in one morning, and
    building the same structure with MIMEMultipart costs about ten times as
    much. The boundary starts with "=_", which quoted-printable text can never
    contain (it encodes "=" as "=3D").
    """
    text, html = email.wire or (qp_body(email.text), qp_body(email.html))
    boundary = f"=_quiz_{secrets.token_hex(12)}"
    head = [
        _from_header(mail_from),
        _header_line("To", _address(envelope.to_name, envelope.to_addr, "To")),
        _header_line("Subject", clean_header_text(email.subject)),
        _date_line(date.replace(microsecond=0), date.utcoffset()),
        _header_line("Message-ID", clean_header_text(envelope.message_id)),
        b"MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'.encode("ascii"),
    ]
    for name, value in envelope.extra_headers.items():
        if not name.replace("-", "").isalnum() or not name.isascii():
            raise ValueError(f"not a header name: {name!r}")
        head.append(_header_line(name, clean_header_text(value)))
    # The CRLF before each delimiter belongs to the delimiter (RFC 2046), so
    # each body keeps its own last line end.
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    return b"".join(
        [
            *head,
            b"\r\n",
            delimiter[2:],
            _PART % b"plain",
            text,
            delimiter,
            _PART % b"html",
            html,
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        ]
    )


class SendError(Exception):
    """A message could not be sent.

    `permanent` follows the SMTP reply class (5xx). `stage` says where it
    happened, which decides what the outbox does: "recipient" (RCPT refused:
    5xx means the address bounced), "data" (the message was refused),
    "sender" or "connect" (the relay or our settings are the problem: retry
    later, whatever the class), "lost" (the connection broke mid-message).
    """

    def __init__(
        self, message: str, permanent: bool, code: int | None = None, stage: str = "connect"
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.stage = stage

    @property
    def bounces_recipient(self) -> bool:
        return self.permanent and self.stage == "recipient"

    @property
    def refuses_message(self) -> bool:
        return self.permanent and self.stage == "data"

    @property
    def relay_unusable(self) -> bool:
        """Nothing else will get through this connection now: stop the batch."""
        return self.stage in ("connect", "sender")


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


def _classify(code: int, text: bytes | str, stage: str) -> SendError:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return SendError(f"{code} {detail}".strip(), permanent=500 <= code < 600, code=code, stage=stage)


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


class SMTPTransport:
    """One SMTP connection, reused for every message of a batch.

    smtplib connects, says EHLO, starts TLS and logs in; each message then
    goes through quiz.smtp_wire.MailChannel (pipelined when the relay offers
    it), about half the CPU of smtplib's `sendmail` per message.
    """

    def __init__(self, settings: SMTPSettings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None
        self._channel: MailChannel | None = None

    def __enter__(self) -> SMTPTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pipelining(self) -> bool | None:
        """Whether the open connection pipelines (None: not connected)."""
        return None if self._channel is None else self._channel.pipelining

    def _connect(self) -> MailChannel:
        s = self.settings
        conn: smtplib.SMTP | None = None
        try:
            if s.mode == "ssl":
                context = ssl.create_default_context()
                conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.mode == "starttls":
                    conn.starttls(context=ssl.create_default_context())
            if s.username:
                conn.login(s.username, s.password or "")
            conn.ehlo_or_helo_if_needed()
        except smtplib.SMTPResponseException as exc:
            _close_quietly(conn)
            raise _classify(exc.smtp_code, exc.smtp_error, "connect") from exc
        except (OSError, smtplib.SMTPException) as exc:
            # A failed STARTTLS or login leaves an open socket behind; close it.
            _close_quietly(conn)
            raise SendError(f"connection to {s.host}:{s.port} failed: {exc}", permanent=False) from exc
        self._conn = conn
        # After the greeting the relay speaks only when spoken to, so nothing
        # waits in smtplib's own reader: the channel's reader takes over.
        self._channel = MailChannel(conn.sock, conn.esmtp_features if conn.does_esmtp else {})
        return self._channel

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._conn.quit()
            self._conn = self._channel = None

    def send(self, envelope_from: str, to_addr: str, data: bytes) -> None:
        """Send one message to one recipient; SendError says what went wrong where."""
        channel = self._channel or self._connect()
        try:
            channel.send(envelope_from, to_addr, data)
        except Refused as exc:
            # A 421 closes the connection; any other refusal leaves the
            # session mid-transaction: RSET, or reconnect if that fails.
            if exc.reusable:
                self._reset()
            else:
                self._drop()
            raise _classify(exc.code, exc.text, exc.stage) from exc
        except OSError as exc:  # timeouts and resets too: the message may or may not have arrived
            self._drop()
            raise SendError(f"connection lost: {exc}", permanent=False, stage="lost") from exc

    def _reset(self) -> None:
        if self._channel is None:
            return
        try:
            self._channel.reset()
        except OSError:
            self._drop()

    def _drop(self) -> None:
        _close_quietly(self._conn)
        self._conn = self._channel = None


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
