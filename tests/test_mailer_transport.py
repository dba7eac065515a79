"""The SMTP transport (smtplib) against real aiosmtpd servers: plain, STARTTLS,
SSL and authentication, one connection reused for a whole batch, what each
kind of refusal or broken connection becomes, and addresses that need
punycode or SMTPUTF8."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import AuthResult, LoginPassword

from quiz.delivery.mail_templates import RenderedEmail
from quiz.delivery.mailer import (
    Envelope,
    SendError,
    SMTPTransport,
    build_message,
    parse_smtp_url,
    relay_features,
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

    def start(handler: CountingHandler | None = None, **smtp_kwargs) -> _Server:  # noqa: ANN003
        ssl_context = smtp_kwargs.pop("ssl_context", None)
        handler = handler or CountingHandler()
        server = _Server(handler, smtp_kwargs=smtp_kwargs, ssl_context=ssl_context)
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
        "bounce+12.ab_CD-x=y@quiz.test",  # a VERP address (quiz.delivery.bounces)
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
        tls_context=_server_ctx(ca),
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    with SMTPTransport(parse_smtp_url(f"smtp://quiz:g3h31m@127.0.0.1:{server.port}?starttls=1")) as t:
        t.send("quiz@quiz.test", "deelnemer@example.org", _message())
        t.send("quiz@quiz.test", "deelnemer@example.org", _message())
    assert [m["Subject"] for m in server.handler.messages] == ["Vraag 1 van 5"] * 2


def test_implicit_ssl(start_server, ca, trust):
    server = start_server(ssl_context=_server_ctx(ca))
    with SMTPTransport(parse_smtp_url(f"smtps://127.0.0.1:{server.port}")) as t:
        t.send("quiz@quiz.test", "deelnemer@example.org", _message())
        t.send("quiz@quiz.test", "deelnemer@example.org", _message())
    assert len(server.handler.messages) == 2


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


# --- refusals and broken connections ------------------------------------------


_messages: dict[str, bytes] = {}


def _built(to: str) -> bytes:
    """The same bytes for the same recipient (each build draws a new MIME boundary)."""
    return _messages.setdefault(to, _message(to))


def _send(transport: SMTPTransport, to: str, sender: str = "quiz@quiz.test") -> SendError | None:
    try:
        transport.send(sender, to, _built(to))
    except SendError as exc:
        return exc
    return None


def test_refusals_are_classified_and_the_connection_stays_in_step(start_server):
    """After each refusal the next message on the same connection arrives
    whole: the replies were all read and RSET ended the transaction."""
    server = start_server()
    server.handler.refuse.update(
        {
            "gone@example.org": "550 5.1.1 No such user",
            "grey@example.org": "451 4.7.1 Greylisted",
            "nobody@quiz.test": "553 5.7.1 Sender not allowed",
        }
    )
    before = server.handler.connections
    with SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}")) as t:
        assert _send(t, "p0@example.org") is None
        gone = _send(t, "gone@example.org")
        assert _send(t, "p1@example.org") is None
        grey = _send(t, "grey@example.org")
        assert _send(t, "p2@example.org") is None
        sender = _send(t, "p3@example.org", sender="nobody@quiz.test")
        assert _send(t, "p4@example.org") is None
    assert (gone.stage, gone.code, gone.permanent, gone.bounces_recipient) == ("recipient", 550, True, True)
    assert str(gone) == "550 5.1.1 No such user"
    assert (grey.stage, grey.code, grey.permanent) == ("recipient", 451, False)
    assert (sender.stage, sender.code, sender.relay_unusable) == ("sender", 553, True)
    assert server.handler.raw == [_built(f"p{i}@example.org") for i in (0, 1, 2, 4)]
    assert server.handler.connections == before + 1


def test_refused_message_data(start_server):
    class RefusesData(CountingHandler):
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
            if b"weiger" in envelope.content:
                return "554 5.6.0 Message content rejected"
            return await super().handle_DATA(server, session, envelope)

    server = start_server(RefusesData())
    refused = build_message(
        RenderedEmail("weiger", "x\n", "<p>x</p>"),
        Envelope("eva@example.org", "Eva", "<m2@quiz.test>"),
        "Quiz <quiz@quiz.test>",
        NOW,
    )
    with SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}")) as t:
        with pytest.raises(SendError) as err:
            t.send("quiz@quiz.test", "eva@example.org", refused)
        t.send("quiz@quiz.test", "eva@example.org", _built("eva@example.org"))
    assert (err.value.stage, err.value.code, err.value.refuses_message) == ("data", 554, True)
    assert server.handler.raw == [_built("eva@example.org")]


def test_421_drops_the_connection_and_the_next_message_reconnects(start_server):
    server = start_server()
    server.handler.refuse["busy@example.org"] = "421 4.3.2 Shutting down"
    before = server.handler.connections
    with SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}")) as t:
        busy = _send(t, "busy@example.org")
        assert _send(t, "p0@example.org") is None
    assert (busy.stage, busy.code, busy.permanent) == ("recipient", 421, False)
    assert server.handler.raw == [_built("p0@example.org")]
    assert server.handler.connections == before + 2


def test_connection_dropped_mid_message_is_lost_not_refused(start_server):
    server = start_server()
    server.handler.drop.add("cut@example.org")
    with SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}")) as t:
        cut = _send(t, "cut@example.org")
        assert _send(t, "p0@example.org") is None
    assert (cut.stage, cut.permanent) == ("lost", False)
    assert server.handler.raw == [_built("p0@example.org")]


def test_a_relay_that_does_not_answer_in_time_is_lost(start_server):
    class Stalls(CountingHandler):
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
            await asyncio.sleep(1.5)
            return await super().handle_DATA(server, session, envelope)

    server = start_server(Stalls())
    with SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}?timeout=0.5")) as t:
        late = _send(t, "p0@example.org")
    assert (late.stage, late.permanent) == ("lost", False)
    assert "timed out" in str(late)


# --- addresses beyond ASCII (issue 17, item 6) ---------------------------------


def _for(to: str) -> bytes:
    return build_message(
        RenderedEmail("Vraag 1 van 5", "Hallo,\n", "<p>Hallo,</p>"),
        Envelope(to, "Jörg", "<m3@quiz.test>"),
        "Quiz <quiz@quiz.test>",
        NOW,
    )


@pytest.mark.parametrize("smtputf8", [False, True], ids=["relay-ascii", "relay-smtputf8"])
def test_an_idn_domain_goes_as_punycode_in_an_ascii_transaction(start_server, smtputf8):
    server = start_server(enable_SMTPUTF8=smtputf8)
    with SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}")) as t:
        t.send("quiz@quiz.test", "idn@bücher.de", _for("idn@bücher.de"))
    assert server.handler.envelopes == [("quiz@quiz.test", ["idn@xn--bcher-kva.de"])]
    assert "SMTPUTF8" not in [o.upper() for o in server.handler.mail_options[0]]
    assert server.handler.raw[0].isascii()
    assert server.handler.messages[0]["To"].addresses[0].addr_spec == "idn@xn--bcher-kva.de"


def test_a_utf8_local_part_goes_with_smtputf8(start_server):
    server = start_server(enable_SMTPUTF8=True)
    with SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}")) as t:
        t.send("quiz@quiz.test", "jörg@bücher.de", _for("jörg@bücher.de"))
        t.send("quiz@quiz.test", "p1@example.org", _built("p1@example.org"))  # the next one: plain again
    assert server.handler.envelopes == [
        ("quiz@quiz.test", ["jörg@xn--bcher-kva.de"]),
        ("quiz@quiz.test", ["p1@example.org"]),
    ]
    assert "SMTPUTF8" in [o.upper() for o in server.handler.mail_options[0]]
    assert "SMTPUTF8" not in [o.upper() for o in server.handler.mail_options[1]]
    (address,) = server.handler.messages[0]["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Jörg", "jörg@xn--bcher-kva.de")


def test_without_smtputf8_a_utf8_local_part_fails_the_message_not_the_address(start_server):
    """Nothing is sent, the error says why, and it is no bounce: the address
    may be fine, the relay cannot carry it. The connection stays usable."""
    server = start_server()
    with SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{server.port}")) as t:
        with pytest.raises(SendError) as err:
            t.send("quiz@quiz.test", "zoë@example.org", _for("zoë@example.org"))
        assert _send(t, "p1@example.org") is None
    assert (err.value.stage, err.value.permanent, err.value.bounces_recipient) == ("data", True, False)
    assert "SMTPUTF8" in str(err.value)
    assert server.handler.envelopes == [("quiz@quiz.test", ["p1@example.org"])]


@pytest.mark.parametrize("smtputf8", [False, True])
def test_relay_features_reads_the_ehlo_reply(start_server, smtputf8):
    server = start_server(enable_SMTPUTF8=smtputf8)
    features = relay_features(f"smtp://127.0.0.1:{server.port}")
    assert ("smtputf8" in features) is smtputf8
    assert "8bitmime" in features
    with pytest.raises(SendError):
        relay_features(f"smtp://127.0.0.1:{free_port()}?timeout=2")
