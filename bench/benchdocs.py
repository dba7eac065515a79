"""docs/benchmarks.md: every benchmark owns one section between its own
`<!-- name:start -->` / `<!-- name:end -->` markers and rewrites only that."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(start: str, end: str, section: str, *, at_top: bool = False, before: str = "") -> None:
    """Replace the text from `start` to `end` with `section` (which carries both
    markers). A missing section goes after the title (`at_top`), ahead of the
    `before` marker when that exists, or at the end of the file."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
    elif at_top:
        title, _, rest = text.partition("\n")
        text = f"{title}\n\n{section}\n{rest}"
    elif before and before in text:
        text = text.replace(before, section + "\n" + before, 1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(text, encoding="utf-8")
