"""What each correct answer of the shipped sets rests on (issue 20, item 7).

For every question, the table below names the correct option and quotes the
domain facts that support its claim. The quotes must stand in
docs/meldcode-facts.md, the repository's copy of the project's domain notes
with their sources, so these tests run from a clean clone. Where the notes
themselves lie beside the repository (../shared/domain/meldcode.md, as in CI
and on the developers' machines), the quotes must still stand there too: a
fact withdrawn from the notes fails here until the question is rewritten.

A new question, or a changed correct option, needs its row: the table must
cover every question exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_questions_shipped import DATA, FACTS

SHARED_NOTES = Path(__file__).resolve().parent.parent.parent / "shared" / "domain" / "meldcode.md"
BEGIN = "<!-- copy of shared/domain/meldcode.md: begin -->"
END = "<!-- copy of shared/domain/meldcode.md: end -->"

# (set, day) -> (correct label, quotes from the domain notes that support it)
SUPPORT: dict[tuple[str, int], tuple[str, list[str]]] = {
    ("meldcode", 1): ("B", [
        "Kindcheck: part of step 1 for professionals with adult clients — check whether the client cares "
        "for minor children and whether they are safe (psychiatric problems, addiction, violent partner…)",
        "Every step is recorded in the file.",
    ]),
    ("meldcode", 2): ("C", [
        "Overleggen met een collega en eventueel raadplegen van Veilig Thuis of een deskundige op het "
        "gebied van letselduiding.",
        "Asking advice is not reporting.",
        "an advice request records no details of the people involved",
    ]),
    ("meldcode", 3): ("D", [
        "The client is in principle told about an intended report; exceptions: the safety of the client, "
        "the professional or someone else is at stake, or there is good reason to think the client will "
        "break off contact.",
        "Informing the parents about an intended report includes asking for their reaction; consent is not "
        "needed.",
        "Skipping that talk (the safety exceptions below) is decided after consultation (a colleague, the "
        "aandachtsfunctionaris or Veilig Thuis) and recorded with its reason.",
    ]),
    ("meldcode", 4): ("A", [
        "Structurele onveiligheid examples: a child repeatedly witnessing domestic violence",
        "A disclosure (a victim tells on their own) is treated as a reason to report.",
        "reporting acute and structural unsafety to Veilig Thuis became a professional norm",
    ]),
    ("meldcode", 5): ("B", [
        "when there is acute or structural unsafety, the professional reports, also when already giving "
        "help; whether and which own help continues is decided together with Veilig Thuis",
        "the old either/or of \"hulp óf melden\" was dropped.",
    ]),
    ("meldcode-verdieping", 1): ("B", [
        "A disclosure (a child or adult tells on their own about violence): listen calmly and take it "
        "seriously, do not promise secrecy, say what you are going to do next",
    ]),
    ("meldcode-verdieping", 2): ("C", [
        "The meldcode also covers sexual violence, honour-based violence, elder abuse and female genital "
        "mutilation.",
        "lets a professional report to Veilig Thuis and share information without consent, even under "
        "professional secrecy",
        "Inform, don't ask permission. The client is in principle told about an intended report",
    ]),
    ("meldcode-verdieping", 3): ("A", [
        "Report in any case: acute or structural unsafety; when you cannot give effective help; when "
        "unsafety continues or returns despite help.",
        "Does the help lead to safety within the desired time? No → report.",
    ]),
    ("meldcode-verdieping", 4): ("A", [
        "Veilig Thuis outside office hours is reachable for urgent situations; for acute danger call 112.",
        "Acute onveiligheid: direct physical danger; safety now and in the coming days not guaranteed.",
    ]),
    ("meldcode-verdieping", 5): ("C", [
        "in education staff must report a possible sexual offence by a staff member against a pupil to the "
        "school board, which must consult the vertrouwensinspecteur and may have to report to the police",
    ]),
}  # fmt: skip


def plain(markdown: str) -> str:
    """The notes without Markdown emphasis and line wrapping, so quotes match as read."""
    return " ".join(re.sub(r"\*+", "", markdown).split())


def copied_notes() -> str:
    text = FACTS.read_text("utf-8")
    assert BEGIN in text and END in text, f"{FACTS.name} lost its copy markers"
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def test_the_table_covers_every_question_and_names_its_correct_option() -> None:
    shipped = {
        (slug, q.day): next(o.label for o in q.options if o.correct)
        for slug, data in DATA.items()
        for q in data.questions
    }
    assert {key: label for key, (label, _quotes) in SUPPORT.items()} == shipped


@pytest.mark.parametrize("key", SUPPORT, ids=[f"{slug}-day{day}" for slug, day in SUPPORT])
def test_each_correct_answer_rests_on_the_domain_notes(key: tuple[str, int]) -> None:
    _label, quotes = SUPPORT[key]
    notes = plain(copied_notes())
    assert quotes
    assert [q for q in quotes if plain(q) not in notes] == []


@pytest.mark.skipif(not SHARED_NOTES.exists(), reason="the domain notes are not beside this clone")
def test_the_domain_notes_still_say_it() -> None:
    notes = plain(SHARED_NOTES.read_text("utf-8"))
    missing = [(key, q) for key, (_label, quotes) in SUPPORT.items() for q in quotes if plain(q) not in notes]
    assert missing == []
