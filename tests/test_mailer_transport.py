"""The SMTP transport against real aiosmtpd servers: plain, STARTTLS, SSL and
authentication, and one connection reused for a whole batch."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import AuthResult, LoginPassword

from quiz.mailer import (
    Envelope,
    RenderedEmail,
    SendError,
    SMTPTransport,
    build_message,
    parse_smtp_url,
)
from tests.conftest import SMTPHandler, free_port

NOW = datetime(2026, 11, 16, 6, 30, tzinfo=UTC)


class CountingHandler(SMTPHandler):
    connections: int = 0


def _message(to: str = "deelnemer@example.org", name: str | None = "Eva") -> bytes:
    email = RenderedEmail("Vraag 1 van 5", "Hallo Eva,\nDe vraag.\n", "<p>Hallo Eva,</p>")
    return build_message(email, Envelope(to, name, "<m1@quiz.test>"), "Quiz <quiz@quiz.test>", NOW)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trust(ca: trustme.CA, tmp_path, monkeypatch) -> None:
    """Make ssl.create_default_context() trust the test CA, as an operator's
    system trust store would trust their relay's certificate."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))


def _server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    return ctx


def _authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN201
    credentials = (auth_data.login, auth_data.password) if isinstance(auth_data, LoginPassword) else None
    ok = credentials == (b"quiz", b"g3h31m")
    # handled=False: let aiosmtpd send the standard 535 reply itself
    return AuthResult(success=ok, handled=False)


class _Server(Controller):
    def __init__(self, handler, *, smtp_kwargs, **kwargs) -> None:  # noqa: ANN001
        self.smtp_kwargs = smtp_kwargs
        super().__init__(handler, hostname="127.0.0.1", port=free_port(), **kwargs)

    def factory(self) -> SMTPProtocol:
        self.handler.connections += 1
        return SMTPProtocol(self.handler, hostname="relay.test", **self.smtp_kwargs)


@pytest.fixture
def start_server() -> Iterator:
    started: list[_Server] = []

    def start(**smtp_kwargs) -> _Server:  # noqa: ANN003
        ssl_context = smtp_kwargs.pop("ssl_context", None)
        server = _Server(CountingHandler(), smtp_kwargs=smtp_kwargs, ssl_context=ssl_context)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_plain_smtp_reuses_one_connection_for_a_batch(start_server):
    server = start_server()
    before = server.handler.connections  # the controller's own readiness probe counts too
    transport = SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}"))
    with transport:
        for i in range(5):
            transport.send("quiz@quiz.test", f"p{i}@example.org", _message(f"p{i}@example.org"))
    assert len(server.handler.messages) == 5
    assert server.handler.connections == before + 1


@pytest.mark.parametrize(
    "sender",
    [
        "quiz@quiz.test",
        "bounce+12.ab_CD-x=y@quiz.test",  # a VERP address (quiz.bounces)
        "Quiz <quiz@quiz.test>",  # not a bare address: smtplib's own parsing
    ],
)
def test_the_relay_gets_the_exact_bytes_and_envelope(start_server, sender):
    """Lines starting with a dot survive the SMTP dot-stuffing both ways."""
    server = start_server()
    text = ".punt aan het begin\n..twee punten\nmidden . punt\n.\n"
    email = RenderedEmail("Vraag 1 van 5", text, "<p>.punt</p>\n.")
    data = build_message(
        email, Envelope("eva@example.org", "Eva", "<m1@quiz.test>"), "Quiz <q@quiz.test>", NOW
    )
    with SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}")) as transport:
        transport.send(sender, "eva@example.org", data)
        transport.send(sender, "eva@example.org", b"." + data)  # a dot on the very first line
    assert server.handler.raw == [data, b"." + data]
    assert (
        server.handler.envelopes
        == [("bounce+12.ab_CD-x=y@quiz.test" if "+" in sender else "quiz@quiz.test", ["eva@example.org"])] * 2
    )
    plain = server.handler.messages[0].get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain == text


def test_starttls_with_login(start_server, ca, trust):
    server = start_server(
        tls_context=_server_ctx(ca), require_starttls=True, authenticator=_authenticator, auth_required=True
    )
    with SMTPTransport(parse_smtp_url(f"smtp://quiz:g3h31m@127.0.0.1:{server.port}?starttls=1")) as t:
        t.send("quiz@quiz.test", "deelnemer@example.org", _message())
    [msg] = server.handler.messages
    assert msg["Subject"] == "Vraag 1 van 5"


def test_implicit_ssl(start_server, ca, trust):
    server = start_server(ssl_context=_server_ctx(ca))
    with SMTPTransport(parse_smtp_url(f"smtps://127.0.0.1:{server.port}")) as t:
        t.send("quiz@quiz.test", "deelnemer@example.org", _message())
    assert len(server.handler.messages) == 1


def test_wrong_password_is_a_permanent_error(start_server, ca, trust):
    server = start_server(
        tls_context=_server_ctx(ca), require_starttls=True, authenticator=_authenticator, auth_required=True
    )
    with (
        SMTPTransport(parse_smtp_url(f"smtp://quiz:fout@127.0.0.1:{server.port}?starttls=1")) as t,
        pytest.raises(SendError) as err,
    ):
        t.send("quiz@quiz.test", "deelnemer@example.org", _message())
    assert err.value.code == 535 and err.value.permanent
    assert server.handler.messages == []


# The test server's side of the refused handshake ends in an exception inside
# aiosmtpd's event loop; that is the server's business, not the client's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_untrusted_certificate_is_refused(start_server, ca):
    # No `trust` fixture: the relay's certificate is not trusted, so nothing is sent.
    server = start_server(tls_context=_server_ctx(ca), require_starttls=True)
    with (
        SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}?starttls=1")) as t,
        pytest.raises(SendError) as err,
    ):
        t.send("quiz@quiz.test", "deelnemer@example.org", _message())
    assert not err.value.permanent  # retried later; an operator fixes the relay
    assert server.handler.messages == []


@pytest.mark.parametrize(
    ("url", "host", "port", "mode", "user"),
    [
        ("smtp://relay.example.nl", "relay.example.nl", 25, "plain", None),
        ("smtp://u%40x:p@relay:587?starttls=1", "relay", 587, "starttls", "u@x"),
        ("smtps://relay", "relay", 465, "ssl", None),
        ("smtp://relay:2525?ssl=1", "relay", 2525, "ssl", None),
    ],
)
def test_parse_smtp_url(url, host, port, mode, user):
    s = parse_smtp_url(url)
    assert (s.host, s.port, s.mode, s.username) == (host, port, mode, user)


def test_parse_smtp_url_refuses_other_schemes():
    with pytest.raises(ValueError, match="smtp://"):
        parse_smtp_url("http://relay")


def test_header_injection_in_a_name_stays_inside_the_to_header():
    raw = _message(name="Eva\r\nBcc: everyone@example.org")
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only
