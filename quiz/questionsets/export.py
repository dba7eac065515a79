"""A question set back to TOML, in the layout of the README example.

The output re-imports to an identical set: `validate_text(to_toml(d)).data == d`
for every valid `d` (tested with hypothesis). Texts with line breaks become
multi-line strings so that they stay readable in an editor.
"""

from __future__ import annotations

from quiz.questionsets.schema import QuestionSetData

# Characters TOML does not allow raw inside a basic string (tab and, in
# multi-line strings, newline excepted).
_CONTROL = {c for c in range(0x20) if c not in (0x09, 0x0A)} | {0x7F}
_SHORT_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\r": "\\r"}


def _escape(text: str, multiline: bool) -> str:
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ch == '"':
            # In a multi-line string only a quote that could start or end a
            # run of three needs escaping; elsewhere quotes read as they are.
            nxt = text[i + 1] if i + 1 < len(text) else ""
            out.append('\\"' if not multiline or nxt in ('"', "") else '"')
        elif ch == "\n" and not multiline:
            out.append("\\n")
        elif ord(ch) in _CONTROL:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def toml_string(text: str) -> str:
    """A TOML basic string for `text`; multi-line when the text has line breaks."""
    if "\n" in text:
        return f'"""\n{_escape(text, multiline=True)}\n"""'
    return f'"{_escape(text, multiline=False)}"'


def to_toml(data: QuestionSetData, comment: str = "") -> str:
    """The TOML file for a set; `comment` goes on top as # lines."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    if lines:
        lines.append("")
    lines += [
        f"slug = {toml_string(data.slug)}",
        f"title = {toml_string(data.title)}",
        f"language = {toml_string(data.language)}",
        f"intro = {toml_string(data.intro)}",
        f"sector_notice = {toml_string(data.sector_notice)}",
    ]
    for q in data.questions:
        lines += ["", "", "[[questions]]", f"day = {q.day}", f"title = {toml_string(q.title)}"]
        if q.meldcode_step is not None:
            lines.append(f"meldcode_step = {q.meldcode_step}")
        lines += [
            f"body = {toml_string(q.body)}",
            f"explanation = {toml_string(q.explanation)}",
            f"discussion_prompt = {toml_string(q.discussion_prompt)}",
        ]
        for o in q.options:
            lines += [
                "",
                "[[questions.options]]",
                f"label = {toml_string(o.label)}",
                f"text = {toml_string(o.text)}",
            ]
            if o.correct:
                lines.append("correct = true")
            if o.feedback is not None:
                lines.append(f"feedback = {toml_string(o.feedback)}")
        for s in q.sources:
            lines += [
                "",
                "[[questions.sources]]",
                f"title = {toml_string(s.title)}",
                f"url = {toml_string(s.url)}",
            ]
    return "\n".join(lines) + "\n"
