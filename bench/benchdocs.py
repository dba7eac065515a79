"""What the benchmarks share: docs/benchmarks.md, where every benchmark owns
one section between its own `<!-- name:start -->` / `<!-- name:end -->`
markers and rewrites only that, and the database they use.

QUIZ_BENCH_DATABASE_URL, when set, is the one PostgreSQL database every
benchmark uses (each empties it first; `make bench` runs them one after
another); unset, each benchmark has a database of its own on the local
PostgreSQL (`quiz_bench`, `quiz_bench_answer`, …), created when missing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BENCH_DATABASE_URL = os.environ.get("QUIZ_BENCH_DATABASE_URL", "")
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"


def database_url(name: str) -> str:
    """The benchmark's database: QUIZ_BENCH_DATABASE_URL, else `name` on the local PostgreSQL."""
    return BENCH_DATABASE_URL or f"{LOCAL_POSTGRES}/{name}"


def write_section(start: str, end: str, section: str, *, at_top: bool = False) -> None:
    """Replace the text from `start` to `end` with `section` (which carries both
    markers). A missing section goes after the title (`at_top`) or at the end."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
    elif at_top:
        title, _, rest = text.partition("\n")
        text = f"{title}\n\n{section}\n{rest}"
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(text, encoding="utf-8")


def verdict(met: bool, missed_by: str = "") -> str:
    return "**met**" if met else f"**missed**{f' ({missed_by})' if missed_by else ''}"
