"""The feedback page after a confirmation, rendered by Jinja once per shape.

In a quiz morning's burst, hundreds of people a second confirm an answer to
the same question, and their feedback pages differ only in two personal
links: "Mijn quiz" (also the base of the links to open earlier questions)
and "Besproken in ons team". Everything else — question, chosen option, the
distribution shown, which earlier questions are open — is shared by many.
So the page is rendered with a marker in place of each personal link, once
per shape (the caller's `key`), and per request the markers are replaced by
the person's links.

This must give exactly the page a full rendering gives:
- Only "plain" links are substituted: URL-safe characters, which Jinja's
  autoescape and werkzeug's URL building leave as they are. Anything else
  is rendered in full.
- Each new shape is checked once against the full rendering of the request
  that created it; a shape whose cached form differs (a template that does
  more with a link than print it) is rendered in full from then on.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

_NONCE = secrets.token_hex(6)
MANAGE_MARKER = f"qzmanage{_NONCE}z"
DISCUSSED_MARKER = f"qzdiscussed{_NONCE}z"
_MARKERS = re.compile(f"({MANAGE_MARKER}|{DISCUSSED_MARKER})")
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:/")
ENTRIES = 512

Render = Callable[[str, str], str]  # (manage_url, discussed_token) -> page


def _plain(value: str) -> bool:
    return bool(value) and _PLAIN.issuperset(value)


def _fill(parts: tuple[str, ...], manage_url: str, discussed_token: str) -> str:
    values = {MANAGE_MARKER: manage_url, DISCUSSED_MARKER: discussed_token}
    # re.split alternates text and captured marker: odd places are markers.
    return "".join(values[p] if i % 2 else p for i, p in enumerate(parts))


class FeedbackPages:
    """Per-process cache of feedback page shapes. Thread-safe."""

    def __init__(self, entries: int = ENTRIES) -> None:
        self.entries = entries
        self._shapes: OrderedDict[Hashable, tuple[str, ...] | None] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, key: Hashable, render: Render, manage_url: str, discussed_token: str) -> str:
        """`render(manage_url, discussed_token)`, from the cached shape `key` when possible."""
        if not (_plain(manage_url) and _plain(discussed_token)):
            return render(manage_url, discussed_token)
        with self._lock:
            parts = self._shapes.get(key, False)
            if parts is not False:
                self._shapes.move_to_end(key)
        if parts is None:  # this shape failed its check
            return render(manage_url, discussed_token)
        if parts is False:
            return self._add(key, render, manage_url, discussed_token)
        return _fill(parts, manage_url, discussed_token)

    def _add(self, key: Hashable, render: Render, manage_url: str, discussed_token: str) -> str:
        page = render(manage_url, discussed_token)
        shape = tuple(_MARKERS.split(render(MANAGE_MARKER, DISCUSSED_MARKER)))
        ok = _fill(shape, manage_url, discussed_token) == page
        with self._lock:
            self._shapes[key] = shape if ok else None
            while len(self._shapes) > self.entries:
                self._shapes.popitem(last=False)
        return page
