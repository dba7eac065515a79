"""Building messages with the email package and handing them to a transport.

`build_message` makes a multipart/alternative message (text and HTML, UTF-8,
quoted-printable) from the `email.mime` classes under `policy.compat32`:
header values stay the strings they are given and are written unchanged
(compat32 passes each through `email.header.Header` with no line limit),
never parsed into header objects and refolded. With `EmailMessage` under
`policy.SMTP`, that parsing and refolding (and `email.quoprimime`) took most
of a message's time: the question email cost about 1.0 ms to build, now
about 0.35 ms (CPU time per message, 2026-12-04, bench/send.py's sample).
So each header is made once, with the email package's own tools:
`email.utils.formataddr` and `email.header.Header` (names and subjects in
any script as RFC 2047 encoded words, folded at 78 characters),
`email.utils.format_datetime`; the bodies are encoded by the standard
library's `quopri`. The SMTP transport sends the bytes with smtplib and
classifies the relay's refusals for the outbox.

Addresses (issue 17, item 6): an IDN domain goes as punycode (A-labels), in
the envelope and in To:, so the message stays ASCII. A local part that is not
ASCII (jörg@) needs SMTPUTF8 (RFC 6531): its message is written under
`policy.SMTPUTF8` (To: in UTF-8, RFC 6532) and goes out only when the
relay offers SMTPUTF8. Whether signup accepts such addresses at all is the
setting QUIZ_SMTPUTF8, which `quiz check` compares with the relay's EHLO.
"""

from __future__ import annotations

import contextlib
import mailbox
import os
import quopri
import secrets
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import idna

from quiz.delivery.mail_templates import RenderedEmail

# The message model: headers stay the strings build_message gives them, and
# are written without folding (max_line_length=None), because each is folded
# when it is made; CRLF line ends as SMTP wants them.
_MIME_POLICY = policy.compat32.clone(linesep="\r\n", max_line_length=None)
# For a recipient whose local part is not ASCII: the same message written
# with To: in UTF-8 (RFC 6532); refold_source="none" writes every other header
# as made, as above.
_UTF8_OUTPUT = policy.SMTPUTF8.clone(refold_source="none")
_CRLF = "\r\n"


def clean_header_text(value: str | None, limit: int = 200) -> str:
    """Text fit for a header: no CR/LF or other control characters, at most `limit` characters."""
    if not value:
        return ""
    if not value.isprintable():
        value = "".join(ch if ch.isprintable() else " " for ch in value)
    return " ".join(value.split())[:limit]


def wire_address(address: str) -> str:
    """`address` as it goes on the wire: the domain in A-labels (bücher.de → xn--bcher-kva.de).

    ValueError for anything that is not one plain address (a list, a name,
    header syntax): what signup stored is one, and only that is sent.
    """
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(ch in address for ch in "\r\n<>(),; \t"):
        raise ValueError(f"not a usable email address: {address!r}")
    if not domain.isascii():
        domain = idna.encode(domain, uts46=True).decode("ascii")  # IDNAError is a ValueError
    return f"{local}@{domain}"


def needs_smtputf8(address: str) -> bool:
    """True when the local part is not ASCII: only SMTPUTF8 can carry it (RFC 6531)."""
    return not address.rpartition("@")[0].isascii()


@dataclass
class Envelope:
    to_addr: str
    to_name: str | None
    message_id: str
    extra_headers: dict[str, str] = field(default_factory=dict)


def build_message(email: RenderedEmail, envelope: Envelope, mail_from: str, date: datetime) -> bytes:
    """The message's bytes (CRLF), multipart/alternative: text, then HTML.

    Participant input never becomes header syntax: names and subjects lose
    control characters (`clean_header_text`) and are quoted or encoded by the
    email package; the address is one address or a ValueError.
    """
    address = wire_address(envelope.to_addr)
    utf8 = needs_smtputf8(address)
    # Quoted-printable writes every "=" as "=3D", so no body line can start
    # with this boundary; with it given, the generator need not search the
    # bodies for a collision.
    msg = MIMEMultipart("alternative", boundary=f"=_{secrets.token_hex(12)}", policy=_MIME_POLICY)
    msg["From"] = _sender(mail_from)
    msg["To"] = _address("To", clean_header_text(envelope.to_name), address, utf8)
    msg["Subject"] = _text("Subject", clean_header_text(email.subject))
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = clean_header_text(envelope.message_id)
    for name, value in envelope.extra_headers.items():
        if not name.replace("-", "").isalnum() or not name.isascii():
            raise ValueError(f"not a header name: {name!r}")
        msg[name] = _text(name, clean_header_text(value, limit=900))  # a link is never cut short
    msg.attach(_text_part("plain", email.text))
    msg.attach(_text_part("html", email.html))
    return msg.as_bytes(policy=_UTF8_OUTPUT) if utf8 else msg.as_bytes()


def _text_part(subtype: str, body: str) -> MIMENonMultipart:
    """A text/<subtype> part, UTF-8, quoted-printable.

    The encoding is the standard library's `quopri` (binascii's encoder, in
    C), set on the part as `email.encoders.encode_quopri` does it, but
    leaving spaces as they are (`quotetabs=False`: encode_quopri writes
    every space as =20). A `Charset` with quoted-printable body encoding
    gives the same bytes through `email.quoprimime`, in Python: 215 against
    55 µs for the question email's two parts.
    """
    part = MIMENonMultipart("text", subtype, policy=_MIME_POLICY, charset="utf-8")
    del part["MIME-Version"]  # the message's own header says it (RFC 2045 4)
    part.set_payload(quopri.encodestring(body.encode("utf-8")).decode("ascii"))
    part["Content-Transfer-Encoding"] = "quoted-printable"
    return part


@lru_cache(maxsize=1024)
def _text(name: str, value: str) -> str:
    """An unstructured header's value (Subject, List-Unsubscribe), ready to
    be written after `name: `; cached, as the question's subject and
    List-Unsubscribe-Post repeat across a morning.

    One ASCII word (a link, a Message-ID) stays whole on the header's own
    line: a header line may be 998 characters long (RFC 5322 2.1.1), Header
    would move the word to a line of its own, and no mail program reads a
    link split into encoded words (Gmail ignores such a List-Unsubscribe,
    RFC 8058). Other ASCII text is folded at 78 characters at its spaces.
    """
    if not value.isascii():
        return _encoded(name, value)
    if not any(ch.isspace() for ch in value):
        return value
    return Header(value, header_name=name).encode(linesep=_CRLF)


@lru_cache(maxsize=16)
def _sender(mail_from: str) -> str:
    name, address = parseaddr(mail_from)
    return _address("From", clean_header_text(name), address, utf8=False)


def _address(field: str, name: str, address: str, utf8: bool) -> str:
    """`name <address>` as the header `field` (To, From) holds it.

    ASCII names are quoted where RFC 5322 needs it (`formataddr`) and folded
    at their spaces; other names become encoded words (RFC 2047), except in a
    message that is UTF-8 anyway (SMTPUTF8), where they stay as they are
    (RFC 6532).
    """
    if not name:
        return address
    local, _, domain = address.rpartition("@")
    if utf8:
        return str(Address(display_name=name, username=local, domain=domain))
    if name.isascii():
        return Header(formataddr((name, address)), header_name=field).encode(linesep=_CRLF)
    return _encoded(field, Address(display_name=name, username=local, domain=domain))


def _encoded(name: str, value: str | Address) -> str:
    """`value` as `policy.SMTP` writes it: only the words that need it become
    RFC 2047 encoded words, lines of at most 78 characters.

    `email.header.Header` could encode it too, but it makes encoded words of
    the whole text, and splits a long name between two of them with the
    space inside the first; RFC 2047 says the folding space between them is
    not shown, but the email package's own address parser shows it (two
    spaces in the name). The header classes of `policy.SMTP` parse the value
    and fold it again, 150–300 µs against Header's 10–15: so only text that
    is not ASCII comes here, and repeated text through the caches above.
    """
    return policy.SMTP.header_factory(name, value).fold(policy=policy.SMTP)[len(name) + 2 : -len(_CRLF)]


class SendError(Exception):
    """A message could not be sent.

    `permanent` follows the SMTP reply class (5xx). `stage` says where it
    happened, which decides what the outbox does: "recipient" (RCPT refused:
    5xx means the address bounced), "data" (the message was refused, or it
    cannot go through this relay at all), "sender" or "connect" (the relay or
    our settings are the problem: retry later, whatever the class), "lost"
    (the connection broke mid-message).
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
    """One smtplib connection, reused for every message of a batch.

    smtplib says EHLO, starts TLS, logs in, and after a refusal sends RSET so
    the connection can carry the next message; a 421 or a broken connection
    closes it, and the next message opens a new one.
    """

    def __init__(self, settings: SMTPSettings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None

    def __enter__(self) -> SMTPTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
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
        return conn

    def features(self) -> frozenset[str]:
        """The relay's EHLO keywords, lower case (after STARTTLS and login)."""
        conn = self._conn or self._connect()
        return frozenset(conn.esmtp_features)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.quit()
            self._conn = None

    def send(self, envelope_from: str, to_addr: str, data: bytes) -> None:
        """Send one message to one recipient; SendError says what went wrong where."""
        recipient = wire_address(to_addr)
        conn = self._conn or self._connect()
        options: list[str] = []
        if needs_smtputf8(recipient) or not envelope_from.isascii():
            if not conn.has_extn("smtputf8"):
                # Our limitation, not the address's: fail this message, bounce nobody.
                raise SendError(
                    "not sent: the address needs SMTPUTF8, which the relay does not offer",
                    permanent=True,
                    stage="data",
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"] if conn.has_extn("8bitmime") else ["SMTPUTF8"]
        try:
            conn.sendmail(envelope_from, [recipient], data, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients[recipient]
            raise _classify(code, text, "recipient") from exc
        except smtplib.SMTPSenderRefused as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, "sender") from exc
        except smtplib.SMTPResponseException as exc:  # DATA refused (SMTPDataError) and the like
            raise _classify(exc.smtp_code, exc.smtp_error, "data") from exc
        except OSError as exc:  # timeouts and resets too: the message may or may not have arrived
            self._drop()
            raise SendError(f"connection lost: {exc}", permanent=False, stage="lost") from exc
        finally:
            if conn.sock is None:  # smtplib closed it (421, or a broken connection)
                self._conn = None

    def _drop(self) -> None:
        _close_quietly(self._conn)
        self._conn = None


def relay_features(url: str) -> frozenset[str]:
    """What the relay at `url` offers in its EHLO reply (for `quiz check`); SendError if unreachable."""
    with SMTPTransport(parse_smtp_url(url)) as transport:
        return transport.features()


def open_dev_mailbox(directory: str) -> mailbox.Maildir:
    """The dev mailbox's Maildir, created when missing, by any number of processes at once.

    `mailbox.Maildir(create=True)` checks, then creates the folder and its
    tmp/new/cur one by one: the web process and the scheduler starting
    together on a fresh instance/ raced there (FileExistsError, or
    FileNotFoundError for a tmp/ not made yet). makedirs(exist_ok=True)
    of each folder before opening makes creating it harmless to repeat.
    """
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(directory, sub), mode=0o700, exist_ok=True)
    return mailbox.Maildir(directory, create=False)


class DevMailboxTransport:
    """Stores messages in a Maildir under instance/ for /dev/mailbox to show."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def __enter__(self) -> DevMailboxTransport:
        self._box = open_dev_mailbox(self.directory)
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
