"""The wire format build_message writes: a correct multipart/alternative message."""

from __future__ import annotations

import binascii
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import Header
from email.utils import format_datetime
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quiz.mailer import CRLF, Envelope, RenderedEmail, _header_line, build_message
from quiz.qp import qp_body, qp_fill, qp_plan

NOW = datetime(2026, 11, 16, 6, 30, tzinfo=UTC)
TEXT = (
    "Hallo Jörg,\n\n.Een regel die met een punt begint\nregel met spatie aan het eind \n"
    + "lang " * 40
    + "\n"
)
HTML = '<p style="color: #0b5d8a">Hallo J&ouml;rg, 100% = goed</p>\n'


def build(name="Jörg de Vries", subject="Vraag 1 van 5: wat doe je als je twijfelt?", **headers) -> bytes:
    envelope = Envelope("jorg@example.org", name, "<quiz.7.question.1@quiz.test>", headers)
    return build_message(RenderedEmail(subject, TEXT, HTML), envelope, "MeldcodeQuiz <quiz@quiz.test>", NOW)


def parse(raw: bytes):  # noqa: ANN201
    return message_from_bytes(raw, policy=policy.default)


def test_headers_and_both_parts_round_trip():
    raw = build(**{"List-Unsubscribe": "<https://quiz.test/afmelden/abc>", "List-Unsubscribe-Post": "x=1"})
    msg = parse(raw)
    assert msg["From"] == "MeldcodeQuiz <quiz@quiz.test>"
    assert msg["To"] == "Jörg de Vries <jorg@example.org>"
    assert msg["Subject"] == "Vraag 1 van 5: wat doe je als je twijfelt?"
    assert msg["Message-ID"] == "<quiz.7.question.1@quiz.test>"
    assert msg["Date"].datetime == NOW
    assert msg["List-Unsubscribe"] == "<https://quiz.test/afmelden/abc>"
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = msg.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert plain == TEXT and html == HTML
    assert not msg.defects and all(not part.defects for part in msg.walk())


def test_wire_format_is_crlf_ascii_with_short_lines():
    raw = build(subject="Een heel lange onderwerpregel " * 5)
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert raw.isascii()
    head, body = raw.split(b"\r\n\r\n", 1)
    assert b"\r\n " in head  # a long subject is folded by email.header
    assert max(len(line) for line in head.split(b"\r\n")) < 100
    assert max(len(line) for line in body.split(b"\r\n")) <= 76  # quoted-printable
    assert parse(raw)["Subject"] == " ".join(("Een heel lange onderwerpregel " * 5).split())


@pytest.mark.parametrize("name", ["Eva\r\nBcc: iedereen@example.org", "Eva\nBcc: x@y", "Eva\x00\x1b"])
def test_control_characters_in_a_name_cannot_add_headers(name):
    msg = parse(build(name=name))
    assert msg["Bcc"] is None
    assert "jorg@example.org" in msg["To"]


def test_ascii_names_with_specials_are_quoted():
    assert parse(build(name='Jansen, "Piet"'))["To"].addresses[0].display_name == 'Jansen, "Piet"'


@pytest.mark.parametrize("address", ["a@b.nl\r\nBcc: x@y", "<a@b.nl>", "geen-adres"])
def test_unusable_addresses_are_refused(address):
    with pytest.raises(ValueError):
        build_message(RenderedEmail("s", "t", "h"), Envelope(address, None, "<m@x>"), "q@quiz.test", NOW)


def test_each_message_has_its_own_boundary():
    assert parse(build()).get_boundary() != parse(build()).get_boundary()


@settings(max_examples=2000, deadline=None)
@given(
    name=st.sampled_from(["To", "Subject", "List-Unsubscribe", "Message-ID"]),
    # what clean_header_text lets through: no control characters
    value=st.text(st.characters(max_codepoint=383, exclude_categories=("Cc",)), max_size=90)
    | st.text(st.sampled_from(' a=?"<>@,;:\\'), max_size=90)
    # long words without a place to fold them (a List-Unsubscribe link)
    | st.text(st.sampled_from('ab:/.-_=?"<>@\\'), min_size=40, max_size=400)
    | st.text(st.sampled_from("ab:/.-_<>;, "), min_size=60, max_size=400),
)
def test_header_lines_are_what_the_email_package_writes(name, value):
    """Short printable ASCII headers, and long ones that cannot be folded, are
    written without email.header; the result must be what Header.encode gives
    (folding, encoding, spacing)."""
    charset = "us-ascii" if value.isascii() else "utf-8"
    expected = f"{name}: {Header(value, charset, header_name=name).encode(linesep=CRLF)}{CRLF}"
    assert _header_line(name, value) == expected.encode("ascii")


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(
        st.text(st.sampled_from(" \t=.aé€\u00a0x<>\x00\x7f\r"), max_size=300) | st.text(max_size=300),
        max_size=8,
    )
)
def test_bodies_are_encoded_as_a_whole_would_be(lines):
    """The body is quoted-printable encoded line by line (the lines cached);
    the result must be binascii's encoding of the whole body."""
    text = "\n".join(lines)
    whole = text.replace("\r\n", "\n").replace("\r", "\n")
    whole = whole if whole.endswith("\n") else whole + "\n"
    expected = binascii.b2a_qp(whole.replace("\n", "\r\n").encode(), istext=True)
    assert qp_body(text) == expected
    assert qp_body(text) == expected  # and again, from the cache


plain_values = st.text(st.sampled_from("aé€ x=.-_/:?\u00a0"), min_size=1, max_size=120).filter(
    str.isprintable
)


@settings(max_examples=3000, deadline=None)
@given(
    pieces=st.lists(
        st.text(st.sampled_from(" \t=.aé€\u00a0x<>{}\r\n"), max_size=200) | st.integers(0, 3),
        max_size=12,
    ),
    values=st.lists(plain_values, min_size=4, max_size=4),
)
def test_a_planned_body_is_encoded_as_the_filled_in_template_would_be(pieces, values):
    """quiz.stencil encodes the constant lines of a body template once
    (qp_plan) and per message only the lines with a value in them (qp_fill):
    the result must be qp_body of the filled-in template, wherever the values
    sit (start, end, next to a line end or a brace, several on one line)."""
    template = "".join(
        f"{{{p}}}" if isinstance(p, int) else p.replace("{", "{{").replace("}", "}}") for p in pieces
    )
    assert qp_fill(qp_plan(template), values) == qp_body(template.format(*values))


def test_the_date_line_is_format_datetimes_whatever_the_zone_and_microseconds():
    """The Date line is cached per second; one instant in two zones (equal
    datetimes) must still be written in its own zone."""
    from zoneinfo import ZoneInfo

    amsterdam = NOW.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert amsterdam == NOW
    for date in (NOW, amsterdam, NOW.replace(microsecond=999_999), amsterdam, NOW):
        date_line = next(line for line in build_at(date).split(b"\r\n") if line.startswith(b"Date: "))
        assert date_line.decode() == f"Date: {format_datetime(date)}"
    assert b"+0100" in build_at(amsterdam) and b"+0000" in build_at(NOW)


def build_at(date: datetime) -> bytes:
    envelope = Envelope("jorg@example.org", None, "<m@quiz.test>")
    return build_message(RenderedEmail("s", TEXT, HTML), envelope, "quiz@quiz.test", date)


link_like = st.text(
    st.sampled_from("abcXYZ0189-_.:/?&%~ "), min_size=1, max_size=250
)  # plain characters: QPLine's fast path unless a value ends in a space or a dot


@settings(max_examples=3000, deadline=None)
@given(
    pieces=st.lists(
        # braces: a doubled one splits a constant run into two literal pieces in a row
        st.text(st.sampled_from(' \t=.aé<>"x{}'), max_size=300) | st.integers(0, 2),
        min_size=1,
        max_size=8,
    ),
    values=st.lists(link_like, min_size=3, max_size=3),
)
def test_a_line_with_links_is_encoded_piece_by_piece_as_binascii_encodes_it_whole(pieces, values):
    """QPLine carries the column through constant pieces (encoded once per
    starting column) and plain values (cut at column 75): long lines, values
    that straddle soft breaks, '=' and white space at the edges of a value,
    a dot or space starting a line, several values on one line, two constant
    pieces in a row (a literal brace, written doubled in the template)."""
    template = "".join(
        f"{{{p}}}" if isinstance(p, int) else p.replace("{", "{{").replace("}", "}}") for p in pieces
    )
    with patch("quiz.qp.QP_PIECEWISE_FROM", 0):  # short lines too, not only those of 100 or more
        plan = qp_plan(template)
    expected = qp_body(template.format(*values))
    assert qp_fill(plan, values) == expected
    assert qp_fill(plan, values) == expected  # again, from the cached pieces


@pytest.mark.parametrize("value", [".", "a.", "a ", " ", "x" * 75 + ".", "x" * 74 + " ", "=", "x" * 150])
@pytest.mark.parametrize("template", ["{0}", "{0}\n", "ab{0}", "{0}cd", "{0}{1}", "." + "y" * 74 + "{0}"])
def test_values_at_the_edges_of_a_line(template, value):
    """A lone dot or white space before a line end is encoded by binascii
    (=2E, =20); those values take the whole-line path."""
    values = [value, value]
    with patch("quiz.qp.QP_PIECEWISE_FROM", 0):
        plan = qp_plan(template)
    assert qp_fill(plan, values) == qp_body(template.format(*values))
