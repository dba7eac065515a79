"""The question editor's form ↔ question-set data, checked by the TOML validator.

The editor builds a `QuestionSetData` from the form and checks it with the
very checker the TOML files go through (`validate_text` on the set written
out by `to_toml`, which re-reads to the same data), so the browser and the
command line can never disagree about what is valid. Each problem carries
the field path (`questions[2].options[1].text`); here it becomes the name of
the form field it belongs to, with the Dutch message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from quiz.questionsets import OptionData, Problem, QuestionData, QuestionSetData, SourceData, validate_text
from quiz.questionsets.export import to_toml
from quiz.questionsets.problems import MESSAGES
from quiz.questionsets.schema import MAX_OPTIONS

EXTRA_SOURCE_ROWS = 2
MAX_SOURCE_ROWS = 20

# The validator names fields as in the file; the editor shows its own labels.
FIELD_LABELS: dict[str, str] = {
    "slug": "Korte naam (slug)",
    "title": "Titel",
    "language": "Taal",
    "intro": "Introductie",
    "sector_notice": "Opmerking over de sector",
    "body": "Vraag",
    "explanation": "Uitleg",
    "discussion_prompt": "Gespreksvraag",
    "meldcode_step": "Stap van de meldcode",
    "label": "Letter",
    "text": "Antwoord",
    "feedback": "Feedback bij dit antwoord",
    "url": "Webadres",
    "correct": "Goede antwoord",
}


def check(data: QuestionSetData) -> list[Problem]:
    """Every problem the TOML validator finds in `data` (empty when valid)."""
    return validate_text(to_toml(data), "editor").problems


def dutch(problem: Problem) -> str:
    """The Dutch message of a problem, with the editor's field labels, for
    showing next to the field it is about."""
    params = dict(problem.params)
    if "field" in params:
        params["field"] = FIELD_LABELS.get(params["field"], params["field"])
    return MESSAGES[problem.code][1].format(**params)


# The editor's fields from top to bottom, and the fields of one option or source row.
_SECTIONS = ("title", "meldcode_step", "body", "options", "explanation", "discussion_prompt", "sources")
_ROW_PARTS = ("label", "text", "correct", "feedback", "title", "url")
_ROW_FIELD = re.compile(r"^(option|source)-(\d+)-(\w+)$")
_OPTION_PATH = re.compile(r"^options\[(\d+)\]\.?(.*)$")
_SOURCE_PATH = re.compile(r"^sources\[(\d+)\]\.?(.*)$")


@dataclass
class QuestionForm:
    """What the organiser typed, row by row, and where each row went in the data."""

    title: str = ""
    meldcode_step: str = ""
    body: str = ""
    explanation: str = ""
    discussion_prompt: str = ""
    # rows: dicts with label, text, feedback (options) or title, url (sources)
    options: list[dict[str, str]] = field(default_factory=list)
    correct: int | None = None  # row index of the correct option
    sources: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, name: str) -> str | None:
        return self.errors[name][0] if self.errors.get(name) else None

    @property
    def option_rows(self) -> list[int]:
        """Rows that hold an option (the others are blank rows for adding one)."""
        return [i for i, row in enumerate(self.options) if any(v.strip() for v in row.values())]

    @property
    def source_rows(self) -> list[int]:
        return [i for i, row in enumerate(self.sources) if any(v.strip() for v in row.values())]

    def data(self, day: int) -> QuestionData:
        step = int(self.meldcode_step) if self.meldcode_step.isdigit() else None
        return QuestionData(
            day=day,
            title=self.title.strip(),
            body=self.body.strip(),
            explanation=self.explanation.strip(),
            discussion_prompt=self.discussion_prompt.strip(),
            meldcode_step=step,
            options=tuple(
                OptionData(
                    label=self.options[i]["label"].strip().upper(),
                    text=self.options[i]["text"].strip(),
                    correct=self.correct == i,
                    feedback=self.options[i]["feedback"].strip() or None,
                )
                for i in self.option_rows
            ),
            sources=tuple(
                SourceData(self.sources[i]["title"].strip(), self.sources[i]["url"].strip())
                for i in self.source_rows
            ),
        )

    def attach(self, problems: list[Problem], index: int) -> None:
        """Put the problems about question `index` next to their form fields."""
        prefix = f"questions[{index}]"
        for problem in problems:
            if problem.path != prefix and not problem.path.startswith(prefix + "."):
                continue
            self.errors.setdefault(self._field_name(problem.path[len(prefix) + 1 :]), []).append(
                dutch(problem)
            )

    def _field_name(self, path: str) -> str:
        """The form field for a path relative to the question ('' = the question as a whole)."""
        match = _OPTION_PATH.match(path)
        if match:
            row = self.option_rows[int(match.group(1))]
            part = match.group(2)
            return f"option-{row}-{part}" if part in ("label", "text", "feedback") else "options"
        match = _SOURCE_PATH.match(path)
        if match:
            row = self.source_rows[int(match.group(1))]
            return f"source-{row}-{match.group(2) or 'title'}"
        return path or "options"

    def summary(self) -> list[tuple[str | None, str]]:
        """The problems for the error summary at the top of the editor: (id of
        the field to link, message), in the order of the form. The message is
        the one next to the field, with the row it is in (two rows may both
        have an empty 'Letter')."""
        items: list[tuple[str | None, str]] = []
        for name in sorted(self.errors, key=self._form_order):
            # The editor's inputs have their field's name as id; anything else gets no link.
            target: str | None = name if name in _SECTIONS and name not in ("options", "sources") else None
            where = ""
            match = _ROW_FIELD.match(name)
            if match:
                kind, row, part = match.group(1), int(match.group(2)), match.group(3)
                target = name
                where = f"{'Antwoord' if kind == 'option' else 'Bron'} {row + 1}: "
                if part == "correct":  # the radio button "Goed" of that row
                    target = f"correct-{row}"
            elif name == "options":
                # A problem with the answers as a whole (too few, none marked
                # correct) links to the first field of the group, as the pattern asks.
                target, where = "option-0-label", "Antwoorden: "
            items.extend((target, where + message) for message in self.errors[name])
        return items

    @staticmethod
    def _form_order(name: str) -> tuple[int, int, int]:
        match = _ROW_FIELD.match(name)
        if match:
            kind, row, part = match.groups()
            section = _SECTIONS.index("options" if kind == "option" else "sources")
            return (section, int(row) + 1, _ROW_PARTS.index(part) if part in _ROW_PARTS else len(_ROW_PARTS))
        return (_SECTIONS.index(name) if name in _SECTIONS else len(_SECTIONS), 0, 0)

    def move_option(self, row: int, step: int) -> None:
        """Swap an option row with its neighbour; its letter moves with it."""
        other = row + step
        if 0 <= row < len(self.options) and 0 <= other < len(self.options):
            self.options[row], self.options[other] = self.options[other], self.options[row]
            if self.correct in (row, other):
                self.correct = other if self.correct == row else row


def form_from_data(q: QuestionData) -> QuestionForm:
    options = [{"label": o.label, "text": o.text, "feedback": o.feedback or ""} for o in q.options]
    correct = next((i for i, o in enumerate(q.options) if o.correct), None)
    form = QuestionForm(
        title=q.title,
        meldcode_step=str(q.meldcode_step or ""),
        body=q.body,
        explanation=q.explanation,
        discussion_prompt=q.discussion_prompt,
        options=options,
        correct=correct,
        sources=[{"title": s.title, "url": s.url} for s in q.sources],
    )
    return _pad(form)


def _pad(form: QuestionForm) -> QuestionForm:
    """Blank rows so that an option or source can be added without JavaScript.
    Rows are only appended, never moved: problems point at row numbers."""
    while len(form.options) < MAX_OPTIONS:
        form.options.append({"label": "", "text": "", "feedback": ""})
    trailing = 0
    for row in reversed(form.sources):
        if any(v.strip() for v in row.values()):
            break
        trailing += 1
    form.sources += [{"title": "", "url": ""} for _ in range(max(0, EXTRA_SOURCE_ROWS - trailing))]
    return form


def form_from_post(values: Mapping[str, str]) -> QuestionForm:
    """The editor's form as posted; any missing or odd field reads as empty."""

    def get(name: str, limit: int = 5000) -> str:
        # Bounded: a field longer than any limit is reported as too long anyway.
        return str(values.get(name, ""))[:limit].replace("\r\n", "\n")

    options = [
        {
            "label": get(f"option-{i}-label", 10),
            "text": get(f"option-{i}-text"),
            "feedback": get(f"option-{i}-feedback"),
        }
        for i in range(MAX_OPTIONS)
    ]
    raw_count = str(values.get("source-count", ""))
    source_count = min(int(raw_count), MAX_SOURCE_ROWS) if raw_count.isdigit() else 0
    sources = [
        {"title": get(f"source-{i}-title"), "url": get(f"source-{i}-url")} for i in range(source_count)
    ]
    raw_correct = str(values.get("correct", ""))
    correct = int(raw_correct) if raw_correct.isdigit() and int(raw_correct) < MAX_OPTIONS else None
    return QuestionForm(
        title=get("title"),
        meldcode_step=get("meldcode_step", 2),
        body=get("body"),
        explanation=get("explanation"),
        discussion_prompt=get("discussion_prompt"),
        options=options,
        correct=correct,
        sources=sources,
    )


def padded(form: QuestionForm) -> QuestionForm:
    return _pad(form)


def replace_question(data: QuestionSetData, index: int, question: QuestionData) -> QuestionSetData:
    """The set with question `index` replaced (or appended when index == len)."""
    questions = list(data.questions)
    if index == len(questions):
        questions.append(question)
    else:
        questions[index] = question
    return dataclasses.replace(data, questions=tuple(questions))


def renumbered(data: QuestionSetData, questions: list[QuestionData]) -> QuestionSetData:
    """The set with these questions, days numbered 1, 2, 3 … in list order."""
    return dataclasses.replace(
        data, questions=tuple(dataclasses.replace(q, day=i) for i, q in enumerate(questions, start=1))
    )


# --- the store's refusals, in Dutch -------------------------------------------------

_REFUSALS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"day (\d+) \((.*)\) would be removed"), "Dag {0} ({1}) zou verdwijnen."),
    (
        re.compile(r"question (.*) would move from day (\d+) to day (\d+)"),
        "Vraag {0} zou van dag {1} naar dag {2} verhuizen.",
    ),
    (
        re.compile(r"day (\d+): option\(s\) (.*) would be removed"),
        "Dag {0}: antwoord {1} zou verdwijnen.",
    ),
    (
        re.compile(r"day (\d+): options would be reordered \((.*) → (.*)\)"),
        "Dag {0}: de volgorde van de antwoorden zou veranderen ({1} wordt {2}).",
    ),
    (
        re.compile(r"day (\d+): the correct option would change from (\S+) to (\S+)"),
        "Dag {0}: het goede antwoord zou veranderen van {1} naar {2}.",
    ),
]


def refusal_nl(reason: str) -> str:
    """A reason from quiz.questionsets.store.refusal_reasons in Dutch (as is when unknown)."""
    for pattern, dutch_text in _REFUSALS:
        match = pattern.fullmatch(reason)
        if match:
            return dutch_text.format(*match.groups())
    return reason
