"""Rendering emails: Jinja templates whose CSS is inlined once, when a template loads.

Templates live in `email_templates/` as three files per kind:
`<kind>.subject.txt`, `<kind>.txt` and `<kind>.html`. Mail programs drop
<style> blocks, so every rule of `email_templates/email.css` must end up in
the style attributes of the HTML. That is done on the template *source*, by
the loader: css-inline runs once per template file (and again only when the
file or the stylesheet changes), and Jinja renders every message from the
result. Rendering a message costs Jinja's time only.

What this asks of the HTML templates (the loader refuses anything else, with
the template's name in the message):
- Jinja tags and expressions go between elements or inside attribute values,
  never in the place of an attribute, and not in a `class` or `style` value:
  a rule can only be inlined into an element whose classes are in the source.
- A selector matches within one template file (`.bars td` works because the
  table and its cells are in followup.html; `.content p` would not reach a
  <p> of a child template). email.css uses class, element and descendant
  selectors inside one file only.
- HTML that comes from data (a question's Markdown, rendered) goes through
  the `inline_css` filter, which inlines it once per distinct text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateSyntaxError, select_autoescape
from markupsafe import Markup

from quiz.formatting import dutch_date, dutch_time

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "email_templates"
STYLESHEET = "email.css"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


# A Jinja tag, expression or comment, as Jinja's default delimiters mark them.
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# What stands in for one while css-inline parses the source: a comment between
# elements (the HTML parser moves text out of a <table>, never a comment), a
# plain word inside an attribute value or a <title>.
_MARKER = re.compile(r"<!--jinja(\d+)-->|qzjinja(\d+)z")
_RAW_TEXT = ("title", "textarea", "style", "script")
_ATTRIBUTE = re.compile(r"""([^\s"'=<>/]+)\s*=\s*"[^"]*$""")


def inline_template_css(source: str, css: str, name: str = "<template>") -> str:
    """`source` (an HTML Jinja template) with the rules of `css` in style attributes.

    The Jinja parts are taken out before css-inline parses the HTML and put
    back afterwards, unchanged and in their place; if the HTML parser moved
    or dropped one (HTML that it had to repair), the template is refused.
    """
    constructs: list[str] = []
    out: list[str] = []
    last = 0
    for match in _JINJA.finditer(source):
        out.append(source[last : match.start()])
        last = match.end()
        index = len(constructs)
        constructs.append(match.group(0))
        out.append(_marker(index, "".join(out), name))
    out.append(source[last:])
    protected = "".join(out)
    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False, extra_css=css)
    if re.search(r"<html[\s>]", protected, re.I):
        inlined = inliner.inline(protected)
    else:
        inlined = inliner.inline_fragment(protected, css)
    found = [int(m.group(1) or m.group(2)) for m in _MARKER.finditer(inlined)]
    if found != list(range(len(constructs))):
        raise TemplateSyntaxError(
            "the HTML parser had to repair the HTML around a Jinja tag and moved or dropped it;"
            " fix the HTML (a duplicate attribute, say)",
            lineno=1,
            name=name,
        )
    return _MARKER.sub(lambda m: constructs[int(m.group(1) or m.group(2))], inlined)


def _marker(index: int, before: str, name: str) -> str:
    tag_start = before.rfind("<")
    if tag_start > before.rfind(">"):  # inside a tag
        in_tag = before[tag_start:]
        attribute = _ATTRIBUTE.search(in_tag)
        if in_tag.count('"') % 2 == 0 or attribute is None:
            raise _refusal(
                "a Jinja tag in the place of an attribute; put it inside a quoted value", before, name
            )
        if attribute.group(1).lower() in ("class", "style"):
            raise _refusal(
                f"Jinja inside a {attribute.group(1)} attribute: its CSS cannot be inlined ahead",
                before,
                name,
            )
        return f"qzjinja{index}z"
    lowered = before.lower()
    if any(lowered.rfind(f"<{tag}") > lowered.rfind(f"</{tag}") for tag in _RAW_TEXT):
        return f"qzjinja{index}z"  # <title> holds text only: a comment would show
    return f"<!--jinja{index}-->"


def _refusal(message: str, before: str, name: str) -> TemplateSyntaxError:
    return TemplateSyntaxError(message, lineno=before.count("\n") + 1, name=name)


class InlineCSSLoader(FileSystemLoader):
    """A FileSystemLoader that gives `.html` templates with the stylesheet inlined.

    Jinja keeps the compiled template; it asks the loader again only when
    `uptodate` says the template file or the stylesheet changed.
    """

    def __init__(self, directory: str | os.PathLike[str], stylesheet: str = STYLESHEET) -> None:
        super().__init__(directory)
        self.stylesheet = Path(directory) / stylesheet
        self._css: tuple[float | None, str] = (None, "")

    def css(self) -> str:
        """The stylesheet's rules, read again only when the file changed."""
        mtime = _mtime(self.stylesheet)
        if mtime != self._css[0]:
            self._css = (mtime, self.stylesheet.read_text(encoding="utf-8") if mtime is not None else "")
        return self._css[1]

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if not template.endswith(".html"):
            return source, filename, uptodate
        css = self.css()
        css_mtime = self._css[0]
        inlined = inline_template_css(source, css, template)
        return inlined, filename, lambda: uptodate() and _mtime(self.stylesheet) == css_mtime


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


@lru_cache(maxsize=512)
def _inline_fragment(css: str, html: str) -> Markup:
    return Markup(css_inline.inline_fragment(html, css))


@lru_cache(maxsize=16)
def template_env(directory: str = str(TEMPLATE_DIR)) -> Environment:
    """The Jinja environment of an email template directory (one per process).

    Jinja compiles each template once and checks the file's modification time
    when it is used again, so an edited template shows in the next email.
    """
    loader = InlineCSSLoader(directory)
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["dutch_date"] = dutch_date
    env.filters["dutch_time"] = dutch_time
    # HTML made from data (Markdown): inlined once per distinct text, not per message.
    env.filters["inline_css"] = lambda html: _inline_fragment(loader.css(), html)
    return env


def render_email(kind: str, context: Mapping[str, Any], directory: str = str(TEMPLATE_DIR)) -> RenderedEmail:
    """Subject, text and HTML of `kind`, rendered with `context`."""
    env = template_env(directory)
    subject = env.get_template(f"{kind}.subject.txt").render(context)
    text = env.get_template(f"{kind}.txt").render(context)
    html = env.get_template(f"{kind}.html").render(context)
    # A subject is one line whatever the template or the data says.
    return RenderedEmail(" ".join(subject.split()), text, html)
