"""The question-set file format and its validation.

One TOML file per set (see README, "Question sets"): metadata at the top,
then one `[[questions]]` table per day with `[[questions.options]]` and
`[[questions.sources]]`. `validate_text` turns the text into a
`QuestionSetData` or a list of every problem found, each with its line.
Texts are stripped of surrounding whitespace, so the form a text is written
in (one line or a multi-line string) does not matter.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from quiz.questionsets.positions import KeyPositions, scan
from quiz.questionsets.problems import TYPE_NAMES, Problem
from quiz.questionsets.richtext import unsafe_links

MIN_OPTIONS, MAX_OPTIONS = 2, 5
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
LABEL = re.compile(r"[A-Z0-9]{1,2}")
LANGUAGE = re.compile(r"[a-z]{2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Longest texts, in characters. Titles go in subject lines; the rest must
# still read as one short email on a phone.
LIMITS = {
    "slug": 80,
    "set_title": 200,
    "intro": 2000,
    "sector_notice": 500,
    "title": 120,
    "body": 2000,
    "explanation": 3000,
    "discussion_prompt": 1000,
    "text": 300,
    "feedback": 1000,
    "source_title": 200,
    "url": 500,
}
MARKDOWN_FIELDS = ("body", "explanation", "discussion_prompt")


@dataclass(frozen=True)
class SourceData:
    title: str
    url: str


@dataclass(frozen=True)
class OptionData:
    label: str
    text: str
    correct: bool
    feedback: str | None = None


@dataclass(frozen=True)
class QuestionData:
    day: int
    title: str
    body: str
    explanation: str
    discussion_prompt: str
    meldcode_step: int | None
    options: tuple[OptionData, ...]
    sources: tuple[SourceData, ...]


@dataclass(frozen=True)
class QuestionSetData:
    slug: str
    title: str
    language: str
    intro: str
    sector_notice: str
    questions: tuple[QuestionData, ...]


@dataclass(frozen=True)
class Validated:
    """The result of validation: `data` is set only when `problems` is empty.

    `warnings` never stop a file: they point at things an organiser should
    fix but that are not wrong as such (a source that links a home page).
    """

    data: QuestionSetData | None
    problems: list[Problem]
    warnings: list[Problem] = field(default_factory=list)


# field name → (type, required)
_SET_FIELDS = {
    "slug": ("string", True),
    "title": ("string", True),
    "language": ("string", False),
    "intro": ("string", False),
    "sector_notice": ("string", True),
    "questions": ("tables", True),
}
_QUESTION_FIELDS = {
    "day": ("integer", True),
    "title": ("string", True),
    "meldcode_step": ("integer", False),
    "body": ("string", True),
    "explanation": ("string", True),
    "discussion_prompt": ("string", True),
    "options": ("tables", True),
    "sources": ("tables", False),
}
_OPTION_FIELDS = {
    "label": ("string", True),
    "text": ("string", True),
    "correct": ("boolean", False),
    "feedback": ("string", False),
}
_SOURCE_FIELDS = {"title": ("string", True), "url": ("string", True)}

_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    # bool is a subclass of int in Python; `day = true` is not a day.
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "tables": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
}


def validate_text(text: str, filename: str = "<text>") -> Validated:
    """Parse and check a question-set file; every problem found, not just the first."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Validated(None, [_syntax_problem(exc, filename)])
    checker = _Checker(filename, scan(text))
    data = checker.question_set(raw)
    warnings = sorted(checker.warnings, key=lambda p: (p.line, p.col))
    if checker.problems:
        return Validated(None, sorted(checker.problems, key=lambda p: (p.line, p.col)), warnings)
    return Validated(data, [], warnings)


def validate_bytes(content: bytes, filename: str) -> Validated:
    """Like `validate_text`, for the bytes of a file or an upload."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        return Validated(None, [Problem(filename, line, 1, "", "not_utf8")])
    return validate_text(text.removeprefix("\ufeff"), filename)


def _syntax_problem(exc: tomllib.TOMLDecodeError, filename: str) -> Problem:
    # Python 3.14 adds lineno/colno; before that they are only in the message.
    message = str(exc)
    line, col = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        line, col = line or int(match.group(1)), col or int(match.group(2))
        message = message[: match.start()]
    elif "end of document" in message:
        line, col = None, None
    detail = getattr(exc, "msg", None) or message
    return Problem(filename, line or 1, col or 1, "", "toml_syntax", {"detail": detail})


class _Checker:
    def __init__(self, filename: str, positions: KeyPositions) -> None:
        self.filename = filename
        self.positions = positions
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(self, path: str, code: str, **params: Any) -> None:
        pos = self.positions.of(path)
        problem = Problem(self.filename, pos.line, pos.col, path, code, params)
        (self.warnings if problem.is_warning else self.problems).append(problem)

    def fields(self, table: dict[str, Any], path: str, spec: dict[str, tuple[str, bool]]) -> dict[str, Any]:
        """The fields of `table` that have the right type; problems for the rest."""
        prefix = f"{path}." if path else ""
        good: dict[str, Any] = {}
        for name, value in table.items():
            if name not in spec:
                self.add(f"{prefix}{name}", "unknown", field=name, allowed=", ".join(spec))
                continue
            kind = spec[name][0]
            if not _TYPE_CHECKS[kind](value):
                en, nl = TYPE_NAMES[kind]
                self.add(f"{prefix}{name}", "type", field=name, expected_en=en, expected_nl=nl)
                continue
            good[name] = value.strip() if isinstance(value, str) else value
        for name, (_kind, required) in spec.items():
            if required and name not in table:
                self.add(path, "missing", field=name)
        return good

    def text(
        self, values: dict[str, Any], path: str, name: str, limit: str | None = None, required: bool = True
    ) -> str:
        value = values.get(name, "")
        where = f"{path}.{name}" if path else name
        if required and name in values and not value:
            self.add(where, "empty", field=name)
        control = _CONTROL.search(value)
        if control:
            # Invisible in an editor, and PostgreSQL refuses NUL in text outright.
            self.add(where, "control_char", field=name, codepoint=ord(control.group()))
        limit_chars = LIMITS[limit or name]
        if len(value) > limit_chars:
            self.add(where, "too_long", field=name, length=len(value), limit=limit_chars)
        if name in MARKDOWN_FIELDS:
            for url in unsafe_links(value):
                pos = self.positions.find(url, where)
                self.problems.append(
                    Problem(self.filename, pos.line, pos.col, where, "unsafe_link", {"url": url})
                )
        return value

    def question_set(self, raw: dict[str, Any]) -> QuestionSetData:
        top = self.fields(raw, "", _SET_FIELDS)
        slug = self.text(top, "", "slug")
        if slug and not SLUG.fullmatch(slug):
            self.add("slug", "slug_format")
        language = top.get("language", "nl")
        if not LANGUAGE.fullmatch(language):
            self.add("language", "language_format")
        questions_raw = top.get("questions", [])
        if "questions" in top and not questions_raw:
            self.add("questions", "no_questions")
        questions = tuple(self.question(q, f"questions[{i}]") for i, q in enumerate(questions_raw))
        self.days(questions_raw)
        return QuestionSetData(
            slug=slug,
            title=self.text(top, "", "title", "set_title"),
            language=language,
            intro=self.text(top, "", "intro", required=False),
            sector_notice=self.text(top, "", "sector_notice"),
            questions=questions,
        )

    def days(self, questions_raw: list[dict[str, Any]]) -> None:
        """Days run 1, 2, 3 … in file order; one problem per gap or repeat."""
        expected = 1
        for i, q in enumerate(questions_raw):
            day = q.get("day")
            if not _TYPE_CHECKS["integer"](day):
                expected += 1
                continue
            if day > expected:
                self.add(f"questions[{i}].day", "day_gap", day=day, expected=expected)
            elif day < expected:
                self.add(f"questions[{i}].day", "day_order", day=day, expected=expected)
                continue
            expected = day + 1

    def question(self, raw: dict[str, Any], path: str) -> QuestionData:
        q = self.fields(raw, path, _QUESTION_FIELDS)
        step = q.get("meldcode_step")
        if step is not None and not 1 <= step <= 5:
            self.add(f"{path}.meldcode_step", "step_range")
        options_raw = q.get("options", [])
        if "options" in q and not MIN_OPTIONS <= len(options_raw) <= MAX_OPTIONS:
            self.add(f"{path}.options", "options_count", count=len(options_raw))
        options = tuple(self.option(o, f"{path}.options[{i}]") for i, o in enumerate(options_raw))
        # A `correct` of the wrong type was reported already; "none is correct" would only add noise.
        typed = not any("correct" in o and not isinstance(o["correct"], bool) for o in options_raw)
        self.correctness(options, path, count_correct=typed)
        return QuestionData(
            day=q.get("day", 0),
            title=self.text(q, path, "title"),
            body=self.text(q, path, "body"),
            explanation=self.text(q, path, "explanation"),
            discussion_prompt=self.text(q, path, "discussion_prompt"),
            meldcode_step=step,
            options=options,
            sources=tuple(self.source(s, f"{path}.sources[{i}]") for i, s in enumerate(q.get("sources", []))),
        )

    def correctness(self, options: tuple[OptionData, ...], path: str, count_correct: bool) -> None:
        """Exactly one correct option; labels unique within the question."""
        first_correct: str | None = None
        seen: set[str] = set()
        for i, option in enumerate(options):
            if option.label and option.label in seen:
                self.add(f"{path}.options[{i}].label", "duplicate_label", label=option.label)
            seen.add(option.label)
            if option.correct:
                if first_correct is None:
                    first_correct = option.label
                else:
                    self.add(
                        f"{path}.options[{i}].correct",
                        "several_correct",
                        label=option.label,
                        first=first_correct,
                    )
        if count_correct and options and first_correct is None:
            self.add(f"{path}.options", "no_correct")

    def option(self, raw: dict[str, Any], path: str) -> OptionData:
        o = self.fields(raw, path, _OPTION_FIELDS)
        label = self.text(o, path, "label", "slug")
        if label and not LABEL.fullmatch(label):
            self.add(f"{path}.label", "label_format")
        text = self.text(o, path, "text")
        feedback = self.text(o, path, "feedback", required=False) or None
        return OptionData(label=label, text=text, correct=o.get("correct", False), feedback=feedback)

    def source(self, raw: dict[str, Any], path: str) -> SourceData:
        s = self.fields(raw, path, _SOURCE_FIELDS)
        title = self.text(s, path, "title", "source_title")
        url = self.text(s, path, "url")
        if url and not re.fullmatch(r"https://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?", url):
            self.add(f"{path}.url", "source_url")
        elif url and urlsplit(url).path in ("", "/"):
            # A home page makes the reader search for the claim, and a trainer
            # cannot check it: the source should open the page it cites.
            self.add(f"{path}.url", "source_url_no_path", url=url)
        return SourceData(title=title, url=url)
