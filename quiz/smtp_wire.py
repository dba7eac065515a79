"""One message transaction on an SMTP connection, written directly on the socket.

smtplib opens the connection, says EHLO, starts TLS and logs in (see
quiz.mailer.SMTPTransport); each message after that goes through `MailChannel`.
smtplib's `sendmail` makes four round trips per message, each through its
Python line reader and reply parsing, and it was about half the sender's CPU
per message. Here a message costs two writes and two reads when the relay
advertises PIPELINING (RFC 2920): MAIL FROM, RCPT TO and DATA in one write,
their three replies, then the dot-stuffed message in one write and its reply
(about 60 % of `sendmail`'s CPU per message against Postfix's smtp-sink).
Without PIPELINING the same code waits for each reply in turn.

Errors come out as two exceptions for the transport to classify: `Refused`
(the relay answered no, at a stage) and `ConnectionLost` (an OSError, like
timeouts and resets: nothing usable came back).
"""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Mapping

# A reply longer than this without a line end is not SMTP (smtplib's limit is 8 kB a line).
MAX_REPLY_BYTES = 65536

# An address smtplib.quoteaddr would give back as "<address>" unchanged: no
# spaces, quotes, comments, angle brackets or route syntax to parse.
_SIMPLE_ADDRESS = re.compile(r"[^\s\x00-\x1f\x7f<>()\[\]\\,;:\"@]+@[^\s\x00-\x1f\x7f<>()\[\]\\,;:\"@]+")


# A reply: its code and its lines as received.
Reply = tuple[int, bytes]


class ConnectionLost(OSError):
    """The connection closed, or what came back was not an SMTP reply."""


class Refused(Exception):
    """The relay refused the transaction at `stage`: "sender", "recipient" or "data".

    `reusable` is False when the connection cannot carry another message: the
    relay said 421 (it closes the connection), or it answered DATA with 354
    after refusing the sender or the recipient, so the only way out of the
    transaction without sending anything is to close the connection.
    """

    def __init__(self, stage: str, code: int, reply: bytes, reusable: bool = True) -> None:
        super().__init__(f"{stage} refused: {reply!r}")
        self.stage = stage
        self.code = code
        self.reply = reply
        self.reusable = reusable and code != 421

    @property
    def text(self) -> str:
        """The reply's text without its codes, lines joined by newlines (as smtplib gives it)."""
        lines = self.reply.decode("utf-8", "replace").splitlines()
        return "\n".join(line[4:].strip() for line in lines)


class ReplyReader:
    """SMTP replies from one socket, through one buffer.

    A pipelining relay may answer MAIL, RCPT and DATA in one segment, and a
    reply may also arrive in pieces: the buffer keeps whatever follows the
    reply just read. A reply is usually one line; a multi-line reply
    ("250-first", "250 last") is read to its last line.
    """

    __slots__ = ("_buffer", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def read(self) -> Reply:
        """The next reply's code and its raw lines."""
        buf = self._buffer
        start = 0  # where the reply's current line starts
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                if len(buf) > MAX_REPLY_BYTES:
                    raise ConnectionLost("reply too long")
                chunk = self._sock.recv(MAX_REPLY_BYTES)
                if not chunk:
                    raise ConnectionLost("connection closed by the relay")
                buf += chunk
                continue
            if buf[start + 3 : start + 4] != b"-":  # "250 ..." or "250" ends the reply
                break
            start = end + 1
        self._buffer = buf[end + 1 :]
        code = buf[:3]
        if not code.isdigit():
            raise ConnectionLost(f"not an SMTP reply: {buf[: min(end, 80)]!r}")
        return int(code), buf[: end + 1]


def _address(address: str) -> bytes:
    if _SIMPLE_ADDRESS.fullmatch(address):
        return f"<{address}>".encode("ascii")
    return smtplib.quoteaddr(address).encode("ascii")  # "Quiz <q@x>" -> "<q@x>"


def stuff(data: bytes) -> bytes:
    """The message as it goes after DATA: a "." doubled at the start of every
    line (RFC 5321 4.5.2), ending in CRLF, then the "." line that ends it."""
    quoted = data.replace(b"\n.", b"\n..")
    if quoted.startswith(b"."):
        quoted = b"." + quoted
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    return quoted + b".\r\n"


class MailChannel:
    """Message transactions on a connection smtplib has opened and greeted.

    `features` are the EHLO keywords (smtplib's `esmtp_features`, lower case):
    PIPELINING decides how the commands are written, SIZE adds the message
    size to MAIL FROM (as smtplib's `sendmail` does).
    """

    def __init__(self, sock: socket.socket, features: Mapping[str, str]) -> None:
        self._sock = sock
        self._reader = ReplyReader(sock)
        self.pipelining = "pipelining" in features
        self._size = "size" in features

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Send `data` from `sender` to `recipient`; Refused or ConnectionLost if not."""
        if not (sender.isascii() and recipient.isascii()):
            # Such an address needs SMTPUTF8, which this client does not speak
            # (nor can build_message write it in a header): nothing is sent.
            stage = "recipient" if sender.isascii() else "sender"
            raise Refused(stage, 553, b"553 5.6.7 address is not ASCII (SMTPUTF8 not supported)\r\n")
        size = b" SIZE=%d" % len(data) if self._size else b""
        mail = b"MAIL FROM:" + _address(sender) + size + b"\r\n"
        rcpt = b"RCPT TO:" + _address(recipient) + b"\r\n"
        read = self._reader.read
        sendall = self._sock.sendall
        if self.pipelining:
            sendall(mail + rcpt + b"DATA\r\n")
            # Every command gets a reply, whatever the one before said, so all
            # three are read to stay in step, unless a 421 closes the connection.
            mail_reply = read()
            rcpt_reply = read() if mail_reply[0] != 421 else None
            data_reply = read() if rcpt_reply is not None and rcpt_reply[0] != 421 else None
            if not (
                mail_reply[0] // 100 == 2
                and rcpt_reply is not None
                and rcpt_reply[0] // 100 == 2
                and data_reply is not None
                and data_reply[0] == 354
            ):
                raise _pipelined_refusal(mail_reply, rcpt_reply, data_reply)
        else:
            sendall(mail)
            code, reply = read()
            if code // 100 != 2:
                raise Refused("sender", code, reply)
            sendall(rcpt)
            code, reply = read()
            if code // 100 != 2:
                raise Refused("recipient", code, reply)
            sendall(b"DATA\r\n")
            code, reply = read()
            if code != 354:
                raise Refused("data", code, reply)
        sendall(stuff(data))
        code, reply = read()
        if code // 100 != 2:
            raise Refused("data", code, reply)

    def reset(self) -> None:
        """RSET: end a refused transaction so the connection can carry the next one."""
        self._sock.sendall(b"RSET\r\n")
        code, reply = self._reader.read()
        if code // 100 != 2:
            raise ConnectionLost(f"RSET refused: {reply!r}")


def _pipelined_refusal(mail: Reply, rcpt: Reply | None, data: Reply | None) -> Refused:
    """The first refusal among the pipelined replies (None: not read, a 421 came first).

    A relay that refused the sender or the recipient answers DATA with 503 or
    554. If it still says 354, it waits for a message that must not go:
    closing the connection abandons the transaction without delivering it.
    """
    closing = any(r is not None and r[0] == 421 for r in (mail, rcpt, data))
    reusable = not closing and (data is None or data[0] != 354)
    if mail[0] // 100 != 2:
        return Refused("sender", *mail, reusable=reusable)
    assert rcpt is not None  # read unless MAIL's reply was 421
    if rcpt[0] // 100 != 2:
        return Refused("recipient", *rcpt, reusable=reusable)
    assert data is not None
    return Refused("data", *data, reusable=reusable)
