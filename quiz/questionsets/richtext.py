"""The small Markdown subset organisers write question texts in.

Allowed: paragraphs, line breaks, *emphasis* and **strong**, bullet and
numbered lists, and links to http(s) and mailto addresses. Everything else is
shown as the literal text the organiser typed: raw HTML is escaped, headings,
code, images and tables are not rendered, and a link with any other scheme
(`javascript:`, `data:`, relative paths …) stays plain text.

`to_html` gives sanitised HTML for emails and pages; `to_text` gives clean
plain text for the text part of an email (links as "text (url)").
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

ALLOWED_SCHEMES = ("http", "https", "mailto")

# The "zero" preset renders nothing but paragraphs and has `html` off, so raw
# HTML becomes escaped text; we switch on exactly the parts of the subset.
_RULES = ["emphasis", "list", "link", "newline", "escape"]


def is_safe_url(url: str) -> bool:
    """True for absolute http(s) URLs with a host and for mailto: addresses.

    Relative links are refused too: in an email they lead nowhere.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme == "mailto":
        return bool(parts.path)
    return scheme in ("http", "https") and bool(parts.netloc)


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("zero").enable(_RULES)
    # markdown-it's own check only blocks javascript:/vbscript:/file:/data:;
    # ours is an allow-list. A refused link is left as literal text.
    md.validateLink = is_safe_url
    return md


@cache
def _permissive_parser() -> MarkdownIt:
    """Accepts every link, so that validation can name the ones we refuse."""
    md = MarkdownIt("zero").enable(_RULES)
    md.validateLink = lambda url: True
    return md


def to_html(md: str) -> Markup:
    """Sanitised HTML for a Markdown-subset text; safe to put in a template as is."""
    return Markup(_parser().render(md or "").strip())


def unsafe_links(md: str) -> list[str]:
    """The link targets in `md` that `to_html` would refuse (shown as text instead)."""
    found: list[str] = []
    if "](" not in (md or ""):  # links are only ever written [text](url) in the subset
        return found
    for token in _permissive_parser().parse(md or ""):
        for child in token.children or ():
            if child.type == "link_open":
                href = str(child.attrGet("href") or "")
                if not is_safe_url(href):
                    found.append(href)
    return found


def to_text(md: str) -> str:
    """Plain text for the text part of an email.

    Emphasis markers are dropped, lists keep "- " or "1. " bullets, links
    become "text (url)" (just the address when the text is the address), and
    paragraphs are separated by one blank line.
    """
    tokens = _parser().parse(md or "")
    return _TextRenderer().render(tokens).strip()


class _TextRenderer:
    """Walks markdown-it's token stream and writes plain text."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        # One entry per open list: the next number, or None for bullets.
        self.lists: list[int | None] = []
        self.pending_marker: str | None = None

    def render(self, tokens: Sequence[Token]) -> str:
        for token in tokens:
            if token.type == "bullet_list_open":
                self.lists.append(None)
            elif token.type == "ordered_list_open":
                self.lists.append(int(token.attrGet("start") or 1))
            elif token.type in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
                if not self.lists:
                    self.blocks.append("")
            elif token.type == "list_item_open":
                number = self.lists[-1]
                if number is None:
                    self.pending_marker = "- "
                else:
                    self.pending_marker = f"{number}. "
                    self.lists[-1] = number + 1
            elif token.type == "inline":
                self._paragraph(_inline_text(token.children or []), in_list=bool(self.lists))
            elif token.type == "paragraph_close" and not self.lists:
                self.blocks.append("")
        return "\n".join(self.blocks).rstrip() + "\n"

    def _paragraph(self, text: str, in_list: bool) -> None:
        lines = text.split("\n")
        if not in_list:
            self.blocks.append(text)
            return
        indent = "   " * (len(self.lists) - 1)
        if self.pending_marker is None:
            # A further paragraph of the same item (a "loose" list item).
            self.blocks.append("")
            self.blocks.append("\n".join(indent + "   " + line for line in lines))
            return
        marker = self.pending_marker
        # Continuation lines line up under the item's text.
        hang = indent + " " * len(marker)
        self.blocks.append("\n".join([indent + marker + lines[0], *(hang + line for line in lines[1:])]))
        self.pending_marker = None


def _inline_text(children: Sequence[Token]) -> str:
    out: list[str] = []
    link_stack: list[tuple[str, int]] = []
    for child in children:
        if child.type in ("text", "text_special"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif child.type == "link_open":
            link_stack.append((str(child.attrGet("href") or ""), len(out)))
        elif child.type == "link_close" and link_stack:
            href, start = link_stack.pop()
            label = "".join(out[start:])
            shown = href.removeprefix("mailto:") if href.lower().startswith("mailto:") else href
            if label.strip() != shown and label.strip() != href:
                out.append(f" ({shown})")
        # em/strong open and close tokens carry only markers: dropped on purpose.
    return "".join(out)
