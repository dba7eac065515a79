"""How easy the question sets are to read: Flesch-Douma per question (textstat).

Participants are professionals of every level, so the texts aim at B1 Dutch.
There is no installable B1 word list for Dutch; the readability measure is
the Flesch reading ease with Douma's constants for Dutch (textstat's "nl",
syllables from pyphen's Dutch hyphenation dictionary):

    206.835 - 0.93 x words per sentence - 77 x syllables per word

Read it as: 60-70 normal, 70-80 fairly easy, 80 and higher easy; every
question must reach 70 (MINIMUM). Hyphenation misses a few syllables (it
never splits off a single letter: "over" counts as one), so the figure is a
little flattering; it is a guide for writers, not proof of B1.

Print the figure for every question of one or more files:

    .venv/bin/python -m tests.readability questions/*.toml
"""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path

from textstat.textstat import textstatistics

from quiz.questionsets import QuestionData, validate_text
from quiz.questionsets.richtext import to_text

# Below this a question needs rewriting before it ships (see the docstring).
MINIMUM = 70.0

# Officialese and constructions that B1 readers stumble over, with what to
# write instead. Matched case-insensitively on word boundaries.
AVOID = {
    "daartoe": "daarvoor / om dat te doen",
    "nog niet eens": "nog niet",
    "onder de 18": "jonger dan 18",
    "teneinde": "om ... te",
    "middels": "met",
    "alsmede": "en",
    "indien": "als",
    "ten aanzien van": "over",
    "derhalve": "daarom",
    "dient": "moet",
    "dienen": "moeten",
    "omtrent": "over",
    "tevens": "ook",
    "desalniettemin": "toch",
}


@cache
def _nl() -> textstatistics:
    # An own instance: the module-level one is shared, and its language is global state.
    stats = textstatistics()
    stats.set_lang("nl")
    stats.set_rounding_points(None)
    return stats


def _sentences(markdown: str) -> str:
    """Plain text in which every paragraph and list item ends as a sentence.

    textstat ends sentences at . ! ? only; a list item or a title without a
    full stop would otherwise run into the next one as one long sentence.
    The "Bron(nen): …" list at the end of an explanation is left out: it is
    a list of names, not prose.
    """
    items: list[str] = []
    for paragraph in re.split(r"\n\s*\n", to_text(markdown)):
        for item in re.split(r"\n(?=- )", paragraph):
            item = " ".join(item.removeprefix("- ").split())
            item = re.sub(r"\s*\bBronnen?:.*$", "", item)
            if item:
                items.append(item if item[-1] in ".?!" else f"{item}.")
    return " ".join(items)


def question_text(q: QuestionData) -> str:
    """Everything a participant reads for one question, as sentences."""
    parts = [q.title, q.body, q.discussion_prompt, q.explanation]
    for option in q.options:
        parts += [option.text, option.feedback or ""]
    return " ".join(_sentences(p) for p in parts if p)


def flesch_douma(text: str) -> float:
    """Flesch reading ease for Dutch (Douma); higher is easier."""
    return float(_nl().flesch_reading_ease(text))


def words_to_avoid(text: str) -> list[str]:
    """The AVOID entries that occur in `text`."""
    return [w for w in AVOID if re.search(rf"\b{re.escape(w)}\b", text, re.IGNORECASE)]


def report(path: Path) -> list[tuple[int, str, float]]:
    """(day, title, Flesch-Douma) for every question of a set file."""
    result = validate_text(path.read_text("utf-8"), str(path))
    if result.data is None:
        raise SystemExit("\n".join(map(str, result.problems)))
    return [(q.day, q.title, flesch_douma(question_text(q))) for q in result.data.questions]


def main(argv: list[str]) -> int:
    for name in argv or ["questions/meldcode.toml"]:
        print(f"{name}  (Flesch-Douma; {MINIMUM:g} or higher passes)")
        for day, title, score in report(Path(name)):
            print(f"  day {day}: {score:5.1f}  {title}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
