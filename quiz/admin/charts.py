"""Bar charts as server-rendered SVG, with a text alternative built in.

No chart library and nothing from a CDN: a chart is a few rectangles and
labels written out here. Each SVG is an image with a title and a description
that reads out every value (role="img", aria-labelledby), and the dashboard
shows the same figures in a table next to it, so nothing depends on seeing
the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

LABEL_WIDTH = 230
VALUE_WIDTH = 100
BAR_HEIGHT = 22
GAP = 8
WIDTH = 640
MAX_LABEL_CHARS = 24

COLOUR = "#0b5d8a"
HIGHLIGHT = "#1e7b34"
TRACK = "#e9eef2"
INK = "#1b1b1b"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown, e.g. "1.234" or "56 %"
    highlight: bool = False  # e.g. the correct answer


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def description(bars: Sequence[Bar]) -> str:
    """The chart in words: every bar's label and value."""
    return "; ".join(f"{b.label}: {b.text}{' (goed antwoord)' if b.highlight else ''}" for b in bars) + "."


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], maximum: float | None = None) -> Markup:
    """A horizontal bar chart; bars scale to `maximum` (default: the largest value)."""
    top = maximum if maximum is not None else max((b.value for b in bars), default=0)
    track = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    cid = escape(chart_id)
    parts = [
        f'<svg class="chart" id="{cid}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description(bars))}</desc>',
    ]
    for i, bar in enumerate(bars):
        y = GAP + i * (BAR_HEIGHT + GAP)
        length = 0 if top <= 0 else round(track * max(bar.value, 0) / top, 1)
        fill = HIGHLIGHT if bar.highlight else COLOUR
        mid = y + BAR_HEIGHT / 2
        weight = ' font-weight="700"' if bar.highlight else ""
        parts += [
            f'<text x="{LABEL_WIDTH - 8}" y="{mid}" text-anchor="end" dominant-baseline="middle" '
            f'font-size="14" fill="{INK}"{weight}>'
            f"{escape(_short(bar.label))}</text>",
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{track}" height="{BAR_HEIGHT}" rx="3" fill="{TRACK}"/>',
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" rx="3" fill="{fill}"/>',
            f'<text x="{LABEL_WIDTH + track + 8}" y="{mid}" dominant-baseline="middle" font-size="14" '
            f'fill="{INK}">{escape(bar.text)}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


def number(value: int) -> str:
    """Dutch thousands separator: 12.345."""
    return f"{value:,}".replace(",", ".")
