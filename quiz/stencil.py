"""Personalised emails without rendering every single one.

A morning's question email is the same for 100,000 people except for a few
values: the name in the greeting and the signed links. Rendering the three
templates and inlining the CSS (css_inline parses and re-serialises the whole
document) is the same work every time. So each "shape" of an email is
rendered once with a placeholder ("sentinel") in the place of each
per-recipient value, the HTML is inlined, and the three parts (subject, text,
HTML) are cached; per message the values are put in the placeholders' places.

This must give exactly the bytes that `quiz.mailer.render_email` gives; the
rules that guarantee it:

- Per-recipient values are marked by the context builders with `personal()`.
- The shape key is built from every value of the context except the marked
  ones, so two messages with the same key differ in nothing a template can
  read but those. Only values that are known to be values go into a key:
  str, Markup, int and bool (with their type: `1` and `True` print
  differently), dicts, lists and tuples of them, and frozen dataclasses
  (read as their fields; immutable, so the key of one instance is worked out
  once). Anything else, an ORM object above all (its attributes can load or
  change), makes the message render in full: an unmarked or unknown value
  costs speed, never correctness. The template environment is part of the
  key too, so an edited template is a new shape.
- A value is put into a placeholder only when it is "plain": printable, not
  empty, no `& < > " '`. For those, Jinja's escaping and css_inline's
  parse-and-serialise leave the characters as they are (and the text parts
  print them as they are), so substituting the value is the same as
  rendering it. Any other value (a name like O'Brien, or one with control
  characters) gets the full rendering.
- In the template a placeholder may only be printed or tested for truth.
  Comparing it, measuring it or reading an attribute raises, and that shape
  is rendered in full. A filter (`|upper`, `|trim`), or the subject's
  whitespace clean-up, would change the placeholder itself: every new shape
  is therefore checked once against the full rendering, with this message's
  values and with probe values (mixed case, double and outer spaces, long),
  and a shape that differs in any part is never used.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from markupsafe import Markup

from quiz.mailer import (
    TEMPLATE_DIR,
    RenderedEmail,
    inline_css,
    render_email,
    render_html,
    render_text_parts,
    template_env,
)
from quiz.qp import QPPlan, qp_body, qp_fill, qp_plan

log = logging.getLogger(__name__)

_UNSAFE = frozenset("&<>\"'")
_NONCE = secrets.token_hex(6)
_SENTINEL = re.compile(rf"qzslot(\d+)n{_NONCE}z")
CACHE_ENTRIES = 256
# Frozen dataclasses (question views) whose key is known, by identity.
KNOWN_OBJECTS = 1024

# Types whose equal values print the same. Not float: -0.0 == 0.0.
_SCALARS = frozenset({str, Markup, int, bool, type(None)})
_SLOT_KEY = object()  # equal to nothing but itself


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


class _Unkeyable(Exception):
    """A context value that is not known to be a value (an ORM object, say)."""


class _Slot:
    """A placeholder for a per-recipient value while a shape is rendered."""

    __slots__ = ("_text",)

    def __init__(self, index: int) -> None:
        self._text = f"qzslot{index}n{_NONCE}z"

    def __html__(self) -> str:
        return self._text

    def __str__(self) -> str:
        return self._text

    def __bool__(self) -> bool:
        return True  # only plain values get a slot, and those are never empty

    def _refuse(self, *_args: Any, **_kwargs: Any) -> Any:
        raise Unstencilable("a per-recipient value is used for more than printing")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse  # type: ignore[assignment]
    __len__ = __iter__ = __contains__ = __getitem__ = _refuse  # type: ignore[assignment]
    __add__ = __radd__ = __mod__ = __mul__ = __format__ = _refuse  # type: ignore[assignment]
    __hash__ = None  # type: ignore[assignment]

    def __getattr__(self, name: str) -> Any:
        raise Unstencilable(f"attribute {name!r} of a per-recipient value")


def _frozen_key(value: Any) -> Hashable:
    """The key of a value inside a frozen dataclass: only scalars, tuples and
    frozen dataclasses, so that it can never change after it was worked out."""
    cls = value.__class__
    if cls in _SCALARS:
        return (cls, value)
    if cls is tuple:
        return (tuple, *[_frozen_key(v) for v in value])
    params = getattr(cls, "__dataclass_params__", None)
    if params is not None and params.frozen:
        return (cls, *[_frozen_key(getattr(value, f.name)) for f in dataclasses.fields(value)])
    raise _Unkeyable(cls.__name__)


def _swap(value: Any, make: Any) -> Any:
    """`value` with every Personal (at the top, in dicts, lists and tuples)
    replaced by make(index); the same walk, in the same order, as `_shape`."""
    counter = itertools.count()

    def walk(v: Any) -> Any:
        cls = v.__class__
        if cls is Personal:
            return make(next(counter))
        if cls is dict:
            return {k: walk(x) for k, x in v.items()}
        if cls is list or cls is tuple:
            return cls(walk(x) for x in v)
        return v

    return walk(value)


def _stencil(rendered: str) -> str:
    """`rendered` as a str.format template: its own braces doubled, each
    placeholder as its field ({0}, {1}, ...); format() puts the values in
    without looking into them."""
    escaped = rendered.replace("{", "{{").replace("}", "}}")
    return _SENTINEL.sub(lambda m: "{" + m.group(1) + "}", escaped)


def _probe(index: int) -> str:
    """A plain value that any case, space or length filter would change."""
    return f"  Pr{index}oBe  mIxEd  " + "lang " * 60 + f"eNd{index} "


# Subject, text and HTML as str.format templates, and the text and HTML as
# quoted-printable plans (quiz.qp.qp_plan): build_message then encodes
# only the lines with a value in them.
_Stencil = tuple[str, str, str, QPPlan, QPPlan]


class StencilRenderer:
    """`render(kind, context)` == `quiz.mailer.render_email(kind, context)`, faster
    for mass mailings. Thread-safe; one per process."""

    def __init__(self, directory: str = str(TEMPLATE_DIR), entries: int = CACHE_ENTRIES) -> None:
        self.directory = directory
        self.entries = entries
        self._cache: OrderedDict[Hashable, _Stencil | None] = OrderedDict()
        self._known: dict[int, tuple[Any, Hashable]] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = self.full = 0

    def render(self, kind: str, context: Mapping[str, Any]) -> RenderedEmail:
        values: list[str] = []
        try:
            shape = self._shape(context, values)
        except _Unkeyable:
            self.full += 1
            return render_email(kind, context, self.directory)
        if not values or not all(is_plain(v) for v in values):
            self.full += 1
            return render_email(kind, context, self.directory)
        key = (kind, template_env(self.directory), shape)
        with self._lock:
            stencil = self._cache.get(key, False)
            if stencil is not False:
                self._cache.move_to_end(key)
        if stencil is False:
            return self._add(kind, context, key, values)
        if stencil is None:  # this shape failed its check: always render in full
            self.full += 1
            return render_email(kind, context, self.directory)
        self.hits += 1
        return _Filled.fill(stencil, values)

    def _shape(self, value: Any, values: list[str]) -> Hashable:
        """The key of `value` with each Personal as a slot (its value goes to
        `values`). Scalars in a dict are keyed inline: this runs per message."""
        cls = value.__class__
        if cls is dict:
            key: list[Any] = [dict]
            for name, v in value.items():
                if name.__class__ is not str:
                    raise _Unkeyable(f"mapping key {name!r}")
                vcls = v.__class__
                if vcls is Personal:
                    values.append(v)
                    key.append((name, _SLOT_KEY))
                elif vcls in _SCALARS:
                    key.append((name, vcls, v))
                else:
                    key.append((name, self._shape(v, values)))
            return tuple(key)
        if cls is Personal:
            values.append(value)
            return _SLOT_KEY
        if cls in _SCALARS:
            return (cls, value)
        if cls is list or cls is tuple:
            return (cls, *[self._shape(v, values) for v in value])
        return self._object_key(value)

    def _object_key(self, value: Any) -> Hashable:
        """A frozen dataclass's key, worked out once per instance (the question
        view is the same object for the whole drain, or a minute of it)."""
        known = self._known.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        key = _frozen_key(value)
        if len(self._known) >= KNOWN_OBJECTS:
            self._known.clear()
        self._known[id(value)] = (value, key)  # the reference keeps the id from being reused
        return key

    def _add(self, kind: str, context: Mapping[str, Any], key: Hashable, values: list[str]) -> RenderedEmail:
        """A new shape: render in full (the answer for this message), and keep
        the stencil only if it reproduces the full rendering for these values
        and for probe values, in all three parts."""
        self.misses += 1
        reference = render_email(kind, context, self.directory)
        stencil: _Stencil | None
        try:
            slotted = _swap(dict(context), _Slot)
            subject, text = render_text_parts(kind, slotted, self.directory)
            html = inline_css(render_html(kind, slotted, self.directory))
            text, html = _stencil(text), _stencil(html)
            stencil = (_stencil(subject), text, html, qp_plan(text), qp_plan(html))
        except Unstencilable:
            stencil = None
        if stencil is not None and not self._reproduces(kind, context, stencil, values, reference):
            log.warning("email %r: the template changes a per-recipient value; rendering in full", kind)
            stencil = None
        with self._lock:
            self._cache[key] = stencil
            while len(self._cache) > self.entries:
                self._cache.popitem(last=False)
        return reference

    def _reproduces(
        self,
        kind: str,
        context: Mapping[str, Any],
        stencil: _Stencil,
        values: list[str],
        reference: RenderedEmail,
    ) -> bool:
        probes = [_probe(i) for i in range(len(values))]
        probed = _swap(dict(context), lambda i: Personal(probes[i]))
        for with_values, expected in (
            (values, reference),
            (probes, render_email(kind, probed, self.directory)),
        ):
            filled = _Filled.fill(stencil, with_values)
            # the encoded bodies too (quiz.qp.qp_plan states why they agree)
            if filled != expected or filled.wire != (qp_body(expected.text), qp_body(expected.html)):
                return False
        return True


class _Filled(RenderedEmail):
    """A stencil with this message's values: the subject and the encoded
    bodies (`wire`) at once, the text and HTML only when they are read. The
    sender sends `wire` and reads neither: formatting them would copy about
    12 kB per message for nothing.

    Made by `fill`; __init__ stays RenderedEmail's, so that
    dataclasses.replace gives an email with the new parts and no `wire`."""

    @classmethod
    def fill(cls, stencil: _Stencil, values: list[str]) -> _Filled:
        subject, text, html, text_plan, html_plan = stencil
        filled = cls.__new__(cls)
        # Straight into the instance's dict: RenderedEmail is frozen.
        filled.__dict__.update(
            subject=subject.format(*values),
            wire=(qp_fill(text_plan, values), qp_fill(html_plan, values)),
            _templates={"text": text, "html": html},
            _values=values,
        )
        return filled

    def __getattr__(self, name: str) -> str:
        # Only for attributes not set yet: text and html on their first read.
        template = self.__dict__.get("_templates", {}).get(name)
        if template is None:
            raise AttributeError(name)
        value = self.__dict__[name] = template.format(*self._values)
        return value
