"""Problems found in a question-set file, in English and Dutch.

A problem carries the file, line and column, the field path
(`questions[2].options[1].text`, indices from 0) and a message code with its
parameters, so the command line can print English and the organisers'
browser editor can show the Dutch text next to the right form field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# code → (English, Dutch). Parameters are filled in with str.format.
MESSAGES: dict[str, tuple[str, str]] = {
    "toml_syntax": ("TOML syntax error: {detail}", "De TOML-opmaak klopt niet: {detail}"),
    "not_utf8": ("the file is not UTF-8 text", "Het bestand is geen UTF-8-tekst"),
    "missing": ("missing field '{field}'", "Het veld '{field}' ontbreekt"),
    "unknown": (
        "unknown field '{field}' (allowed: {allowed})",
        "Onbekend veld '{field}' (toegestaan: {allowed})",
    ),
    "type": ("'{field}' must be {expected_en}", "'{field}' moet {expected_nl} zijn"),
    "empty": ("'{field}' is empty", "'{field}' is leeg"),
    "too_long": (
        "'{field}' is {length} characters long; at most {limit} fit well in an email",
        "'{field}' is {length} tekens lang; er passen er maximaal {limit} goed in een e-mail",
    ),
    "control_char": (
        "'{field}' contains an invisible control character (U+{codepoint:04X}); retype the text around it",
        "'{field}' bevat een onzichtbaar stuurteken (U+{codepoint:04X}); typ de tekst eromheen opnieuw",
    ),
    "slug_format": (
        "slug must be lowercase letters, digits and hyphens, e.g. 'meldcode-2026'",
        "De slug mag alleen kleine letters, cijfers en streepjes bevatten, bijvoorbeeld 'meldcode-2026'",
    ),
    "language_format": (
        "language must be a two-letter code such as 'nl'",
        "De taal moet een code van twee letters zijn, zoals 'nl'",
    ),
    "no_questions": (
        "the set has no questions; add at least one [[questions]] table",
        "De set heeft geen vragen; voeg minstens één [[questions]] toe",
    ),
    "day_gap": (
        "day {expected} is missing: this question has day {day}; days run 1, 2, 3 … without gaps",
        "Dag {expected} ontbreekt: deze vraag heeft dag {day}; de dagen lopen 1, 2, 3 … zonder gaten",
    ),
    "day_order": (
        "day {day} is repeated or out of order; expected day {expected}",
        "Dag {day} komt twee keer voor of staat niet op volgorde; verwacht was dag {expected}",
    ),
    "step_range": (
        "meldcode_step must be 1 to 5; leave it out when the question is not about one step",
        "meldcode_step moet 1 tot en met 5 zijn; laat het weg als de vraag niet over één stap gaat",
    ),
    "options_count": (
        "a question needs 2 to 5 options; this one has {count}",
        "Een vraag heeft 2 tot 5 antwoorden nodig; deze heeft er {count}",
    ),
    "no_correct": (
        "no option is marked correct; mark exactly one with correct = true",
        "Geen antwoord is als goed gemarkeerd; zet bij precies één antwoord correct = true",
    ),
    "several_correct": (
        "option {label} is marked correct too, but option {first} already is; mark exactly one",
        "Antwoord {label} is ook als goed gemarkeerd, maar antwoord {first} al; markeer er precies één",
    ),
    "label_format": (
        "label must be one or two capital letters or digits, e.g. 'A'",
        "Het label moet één of twee hoofdletters of cijfers zijn, bijvoorbeeld 'A'",
    ),
    "duplicate_label": (
        "label '{label}' is used twice in this question",
        "Het label '{label}' komt twee keer voor in deze vraag",
    ),
    "unsafe_link": (
        "link to '{url}' is not allowed: links must start with https://, http:// or mailto:",
        "De link naar '{url}' mag niet: een link begint met https://, http:// of mailto:",
    ),
    "source_url": (
        "a source URL must start with https:// and name a website",
        "Een bron-URL begint met https:// en noemt een website",
    ),
    "source_url_no_path": (
        "'{url}' is a home page; link the page that supports the claim instead",
        "'{url}' is een startpagina; link liever naar de pagina waar de informatie staat",
    ),
}

# Codes that do not stop a file from being valid: the file still imports,
# but the organiser is told (`Validated.warnings`).
WARNING_CODES = frozenset({"source_url_no_path"})

# Expected types, for the "type" message.
TYPE_NAMES: dict[str, tuple[str, str]] = {
    "string": ("text in quotes", "tekst tussen aanhalingstekens"),
    "integer": ("a whole number", "een geheel getal"),
    "boolean": ("true or false", "true of false"),
    "tables": ("a list of tables ([[...]] sections)", "een lijst van tabellen ([[...]]-blokken)"),
}

_WHERE = re.compile(r"questions\[(\d+)\](?:\.(options|sources)\[(\d+)\])?")
_PART_NAMES = {"options": ("option", "antwoord"), "sources": ("source", "bron")}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a question-set file."""

    file: str
    line: int
    col: int
    path: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_warning(self) -> bool:
        """A warning leaves the file valid; an error stops validation and import."""
        return self.code in WARNING_CODES

    @property
    def message(self) -> str:
        """The English message, prefixed with which question it is about."""
        return self._render(0)

    @property
    def message_nl(self) -> str:
        """The same message in Dutch, for the organisers' editor."""
        return self._render(1)

    def _render(self, lang: int) -> str:
        text = MESSAGES[self.code][lang].format(**self.params)
        where = _describe(self.path, lang)
        if not where:
            return text
        if lang == 1:
            # Dutch reads as one sentence: "Vraag 2, antwoord 1: het label …".
            return f"{where[0].upper()}{where[1:]}: {text[0].lower()}{text[1:]}"
        return f"{where}: {text}"

    def __str__(self) -> str:
        kind = "warning: " if self.is_warning else ""
        return f"{self.file}:{self.line}:{self.col}: {kind}{self.message}"


def _describe(path: str, lang: int) -> str:
    """'question 3, option 2' (or Dutch) for a path like questions[2].options[1].text."""
    match = _WHERE.match(path)
    if not match:
        return ""
    where = [f"{('question', 'vraag')[lang]} {int(match.group(1)) + 1}"]
    if match.group(2):
        where.append(f"{_PART_NAMES[match.group(2)][lang]} {int(match.group(3)) + 1}")
    return ", ".join(where)
