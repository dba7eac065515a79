"""Quoted-printable bodies: exactly binascii.b2a_qp's bytes, without paying for it per message.

build_message writes both parts of every email as quoted-printable (UTF-8,
CRLF line ends). binascii's encoder costs about 18 ns (90 instructions) a
byte, and a morning's 100,000 question emails differ only in a few values,
so what repeats is encoded once:

- `qp_body` encodes a body line by line, the lines cached;
- `qp_plan` makes a plan per email shape (quiz.stencil): the body template's
  constant lines encoded once, each line with a value in it a `QPLine`;
  `qp_fill` encodes one message from the plan and its values, a long
  `QPLine` encoding only its values and reusing its constant pieces.

Every path gives the bytes binascii.b2a_qp gives for the whole body, so the
sender's output is the same as encoding each message in full;
tests/test_smtp_message.py checks that against binascii for arbitrary lines
and values.
"""

from __future__ import annotations

import binascii
import string
from collections.abc import Sequence
from functools import lru_cache


def qp_body(text: str) -> bytes:
    """UTF-8, quoted-printable, CRLF line ends.

    binascii's C encoder does what email.quoprimime does in Python (76-column
    lines, soft breaks, trailing whitespace encoded, '=' as =3D). It still
    costs about 18 ns a byte, and most lines of a morning's emails are the
    same in every message, so it runs per line with the lines cached:
    quoted-printable never looks past a line end (soft breaks and trailing
    whitespace are per line), so the lines' encodings put together are the
    encoding of the whole (tests/test_smtp_message.py checks that).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    return b"".join(map(_qp_line, text[:-1].split("\n")))


# Enough for every constant line of a few email shapes at once; the lines
# with a link or name in them are new in every message and drop out.
@lru_cache(maxsize=4096)
def _qp_line(line: str) -> bytes:
    return _qp_new_line(line)


def _qp_new_line(line: str) -> bytes:
    return binascii.b2a_qp(f"{line}\r\n".encode(), istext=True)


# A body as a str.format template, ready for quoted-printable: the encoded
# runs of lines without a field, and each line with a field as a QPLine.
QPPlan = tuple["bytes | QPLine", ...]
_FORMATTER = string.Formatter()


def qp_plan(template: str) -> QPPlan:
    """The plan of `template` for `qp_fill`.

    For values that hold no line end (quiz.stencil fills in only printable
    ones), `qp_fill(qp_plan(t), values) == qp_body(t.format(*values))`:
    a value never adds or removes a line, so the template's lines are the
    body's lines, and quoted-printable encodes each line on its own. The
    constant lines are encoded here once; per message only the lines with a
    value in them (a greeting, a link) are.
    """
    template = template.replace("\r\n", "\n").replace("\r", "\n")
    if not template.endswith("\n"):
        template += "\n"
    plan: list[bytes | QPLine] = []
    constant: list[bytes] = []
    for line in template[:-1].split("\n"):
        parsed = list(_FORMATTER.parse(line))
        if all(field is None for _, field, _, _ in parsed):
            constant.append(_qp_new_line(line.format()))  # format(): "{{" is "{"
            continue
        if constant:
            plan.append(b"".join(constant))
            constant = []
        plan.append(QPLine(line, parsed))
    if constant:
        plan.append(b"".join(constant))
    return tuple(plan)


def qp_fill(plan: QPPlan, values: Sequence[str]) -> bytes:
    """`qp_body(template.format(*values))` from `qp_plan(template)`."""
    return b"".join([item if item.__class__ is bytes else item.encode(values) for item in plan])  # type: ignore[union-attr]


# Shorter lines are encoded whole: binascii costs less than the pieces' Python
# there (measured in instructions: about even at 100 characters, 24,000 against
# 79,000 at 600).
QP_PIECEWISE_FROM = 100
# Quoted-printable's line length: binascii starts a soft line break ("=" CRLF)
# before a plain character at column 75.
_QP_LAST_COLUMN = 75
# Characters binascii writes as they are anywhere inside a line: printable
# ASCII but "=" (written =3D), and the space (written =20 only before a line end).
_QP_PLAIN = frozenset(map(chr, range(32, 127))) - {"="}


class QPLine:
    """One template line with values in it, encoded per message.

    The lines with a link are long in the HTML part (inlined styles, 500 to
    650 bytes), and binascii's encoder costs about 90 instructions a byte:
    encoding them whole was the largest single cost of a question email.
    binascii.b2a_qp is a left-to-right encoder whose only state is the
    column, and which looks at most one character ahead (a line end, for a
    soft break or a lone "." ) and one back (white space before a line end).
    So the line is encoded piece by piece with the column carried along:
    - a constant piece at each starting column is encoded once by binascii
      itself (after as many filler characters as the column, followed by a
      stand-in for the value that comes next, or by the line end), and cached;
    - a value of plain characters (_QP_PLAIN) that does not end in a space
      or a dot stays as it is, cut into pieces by a soft break wherever the
      column reaches 75.
    A line with another kind of value, or fields with a format spec, is
    encoded whole by binascii. tests/test_smtp_message.py compares both
    against binascii for arbitrary lines and values.
    """

    __slots__ = ("_ends_with_value", "_pieces", "template")

    def __init__(self, template: str, parsed: list[tuple[str, str | None, str | None, str | None]]) -> None:
        self.template = template
        # A value's index, or a constant piece: its cache (column -> encoded
        # piece and the column after it), its text, whether it ends the line.
        pieces: list[int | tuple[dict[int, tuple[bytes, int]], str, bool]] = []
        simple = len(template) >= QP_PIECEWISE_FROM
        for literal, name, spec, conversion in parsed:
            if literal:
                pieces.append(({}, literal, False))
            if name is not None:
                simple = simple and name.isdigit() and not spec and conversion is None
                pieces.append(int(name) if name.isdigit() else -1)
        if pieces and pieces[-1].__class__ is tuple:
            pieces[-1] = (pieces[-1][0], pieces[-1][1], True)  # type: ignore[index]
        self._pieces = tuple(pieces) if simple else None
        self._ends_with_value = bool(pieces) and pieces[-1].__class__ is int

    def encode(self, values: Sequence[str]) -> bytes:
        pieces = self._pieces
        if pieces is None:
            return _qp_new_line(self.template.format(*values))
        out: list[bytes] = []
        column = 0
        for piece in pieces:
            if piece.__class__ is int:
                value = values[piece]  # type: ignore[index]
                if not value or value[-1] in " ." or not _QP_PLAIN.issuperset(value):
                    return _qp_new_line(self.template.format(*values))
                if len(value) <= _QP_LAST_COLUMN - column:
                    out.append(value.encode())
                    column += len(value)
                else:
                    column = _qp_plain_value(value.encode(), column, out)
            else:
                cache, text, last = piece  # type: ignore[misc]
                encoded = cache.get(column)
                if encoded is None:
                    encoded = cache[column] = _qp_constant(text, column, last)
                out.append(encoded[0])
                column = encoded[1]
        if self._ends_with_value:
            out.append(b"\r\n")
        return b"".join(out)


def _qp_plain_value(value: bytes, column: int, out: list[bytes]) -> int:
    """Append `value` (plain characters) as binascii writes it from `column`; the column after it."""
    room = _QP_LAST_COLUMN - column
    if len(value) <= room:
        out.append(value)
        return column + len(value)
    out.append(value[:room])
    for start in range(room, len(value), _QP_LAST_COLUMN):
        out.append(b"=\r\n")
        out.append(value[start : start + _QP_LAST_COLUMN])
    return len(out[-1])


def _qp_constant(piece: str, column: int, last: bool) -> tuple[bytes, int]:
    """`piece` as binascii writes it from `column`, and the column after it.

    `column` filler characters stand for what came before (plain, so never
    broken: a soft break comes only at column 75). A piece in the middle is
    followed by "x", a stand-in for the plain value that comes next (what
    binascii looks ahead at: not a line end); without a line end binascii
    writes its soft breaks with a bare LF, so those become CRLF. The last
    piece is followed by the line end itself.
    """
    data = b"x" * column + piece.encode() + (b"\r\n" if last else b"x")
    encoded = binascii.b2a_qp(data, istext=True)[column:]
    if last:
        return encoded, 0
    encoded = encoded[:-1].replace(b"\n", b"\r\n")  # "x" at the very end is written as it is
    line_start = encoded.rfind(b"\n") + 1
    return encoded, (column if line_start == 0 else 0) + len(encoded) - line_start
