"""Personalised emails without inlining the CSS of every single one.

A morning's question email is the same for 100,000 people except for a few
values: the name in the greeting and the signed links. Inlining the CSS
(css_inline parses and re-serialises the whole document) is the same work
every time. So the HTML part is rendered with a placeholder ("sentinel") in
the place of each per-recipient value, the result is inlined once and cached,
and per message the values are put in the placeholders' places.

This must give exactly the bytes that `quiz.mailer.render_email` gives; the
rules that guarantee it:

- Per-recipient values are marked by the context builders with `personal()`.
  Unmarked values simply become part of the cache key (the rendered HTML with
  placeholders), so forgetting to mark one costs speed, never correctness.
- A value is put into a placeholder only when it is "plain": printable, not
  empty, no `& < > " '`. For those, Jinja's escaping and css_inline's
  parse-and-serialise leave the characters as they are, so substituting the
  value is the same as rendering it. Any other value (a name like O'Brien,
  or one with control characters) gets the full rendering.
- In the template a placeholder may only be printed or tested for truth.
  Comparing it, measuring it or reading an attribute raises, and that
  message is rendered in full. A filter (`|upper`, `|trim`) would change the
  placeholder itself: every new cache entry is therefore checked once against
  the full rendering, with this message's values and with probe values
  (mixed case, double and outer spaces, long), and an entry that differs is
  never used.

Subject and text part are rendered by Jinja per message with the real
values, exactly as before (nothing to inline there).
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from quiz.mailer import TEMPLATE_DIR, RenderedEmail, inline_css, render_email, render_html, render_text_parts

log = logging.getLogger(__name__)

_UNSAFE = frozenset("&<>\"'")
_NONCE = secrets.token_hex(6)
_SENTINEL = re.compile(rf"qzslot(\d+)n{_NONCE}z")
CACHE_ENTRIES = 256


class Personal(str):
    """A per-recipient value in an email context (a name, a signed link).

    Renders exactly like the plain string it is; the mark only tells the
    StencilRenderer that it may vary between messages."""

    __slots__ = ()


def personal(value: str | None) -> Personal | None:
    return None if value is None else Personal(value)


def is_plain(value: str) -> bool:
    """True when printing `value` into HTML leaves its characters unchanged
    (through Jinja's autoescape and css_inline's parser and serialiser)."""
    return bool(value) and value.isprintable() and _UNSAFE.isdisjoint(value)


class Unstencilable(Exception):
    """The template did more with a per-recipient value than print or test it."""


class _Slot:
    """A placeholder for a per-recipient value while the HTML is rendered."""

    __slots__ = ("_text", "_truthy")

    def __init__(self, index: int, truthy: bool) -> None:
        self._text = f"qzslot{index}n{_NONCE}z"
        self._truthy = truthy

    def __html__(self) -> str:
        return self._text

    def __str__(self) -> str:
        return self._text

    def __bool__(self) -> bool:
        return self._truthy

    def _refuse(self, *_args: Any, **_kwargs: Any) -> Any:
        raise Unstencilable("a per-recipient value is used for more than printing")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse  # type: ignore[assignment]
    __len__ = __iter__ = __contains__ = __getitem__ = _refuse  # type: ignore[assignment]
    __add__ = __radd__ = __mod__ = __mul__ = __format__ = _refuse  # type: ignore[assignment]
    __hash__ = None  # type: ignore[assignment]

    def __getattr__(self, name: str) -> Any:
        raise Unstencilable(f"attribute {name!r} of a per-recipient value")


def _swap(value: Any, values: list[str], make: Any) -> Any:
    """`value` with every Personal (at the top, in a dict, in a list of
    dicts) replaced by make(index, value); the originals go to `values`."""
    if isinstance(value, Personal):
        values.append(str(value))
        return make(len(values) - 1, value)
    if isinstance(value, dict):
        return {k: _swap(v, values, make) for k, v in value.items()}
    if isinstance(value, list | tuple) and any(isinstance(v, dict | Personal) for v in value):
        return type(value)(_swap(v, values, make) for v in value)
    return value


def _fill(parts: tuple[str | int, ...], values: list[str]) -> str:
    return "".join(p if isinstance(p, str) else values[p] for p in parts)


def _split(html: str) -> tuple[str | int, ...]:
    pieces = _SENTINEL.split(html)
    # re.split alternates text and captured group: even = text, odd = slot index
    return tuple(p if i % 2 == 0 else int(p) for i, p in enumerate(pieces))


def _probe(index: int) -> str:
    """A plain value that any case, space or length filter would change."""
    return f"  Pr{index}oBe  mIxEd  " + "lang " * 60 + f"eNd{index} "


class StencilRenderer:
    """`render(kind, context)` == `quiz.mailer.render_email(kind, context)`, faster
    for the HTML part of mass mailings. Thread-safe; one per process."""

    def __init__(self, directory: str = str(TEMPLATE_DIR), entries: int = CACHE_ENTRIES) -> None:
        self.directory = directory
        self.entries = entries
        self._cache: OrderedDict[str, tuple[str | int, ...] | None] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = self.full = 0

    def render(self, kind: str, context: Mapping[str, Any]) -> RenderedEmail:
        values: list[str] = []
        slotted = {k: _swap(v, values, lambda i, v: _Slot(i, bool(v))) for k, v in context.items()}
        if not values or not all(is_plain(v) for v in values):
            self.full += 1
            return render_email(kind, context, self.directory)
        try:
            html = render_html(kind, slotted, self.directory)
        except Unstencilable:
            self.full += 1
            return render_email(kind, context, self.directory)
        with self._lock:
            parts = self._cache.get(html, False)
            if parts is not False:
                self._cache.move_to_end(html)
        if parts is False:
            return self._add(kind, context, html, values)
        if parts is None:  # this shape failed its check: always render in full
            self.full += 1
            return render_email(kind, context, self.directory)
        self.hits += 1
        subject, text = render_text_parts(kind, context, self.directory)
        return RenderedEmail(subject, text, _fill(parts, values))

    def _add(self, kind: str, context: Mapping[str, Any], html: str, values: list[str]) -> RenderedEmail:
        """A new shape: render in full (the answer for this message), and keep
        the inlined placeholder HTML only if it reproduces the full rendering
        for these values and for probe values."""
        self.misses += 1
        reference = render_email(kind, context, self.directory)
        parts = _split(inline_css(html))
        ok = _fill(parts, values) == reference.html
        if ok:
            seen: list[str] = []
            probed = {k: _swap(v, seen, lambda i, v: Personal(_probe(i))) for k, v in context.items()}
            probes = [_probe(i) for i in range(len(seen))]
            ok = _fill(parts, probes) == render_email(kind, probed, self.directory).html
        if not ok:
            log.warning("email %r: the template changes a per-recipient value; rendering in full", kind)
        with self._lock:
            self._cache[html] = parts if ok else None
            while len(self._cache) > self.entries:
                self._cache.popitem(last=False)
        return reference
