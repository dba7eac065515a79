"""The shipped set, questions/meldcode.toml: valid, complete and sourced."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

import pytest

from quiz.questionsets import QuestionData, QuestionSetData, validate_text
from quiz.richtext import to_text
from tests.test_questions_validate import SHIPPED

# The hosts that shared/domain/meldcode.md (the facts the set rests on) cites.
FACT_HOSTS = {
    "rijksoverheid.nl",
    "nvo.nl",
    "openkamer.org",
    "huiselijkgeweld.nl",
    "nji.nl",
    "knmg-meldcode.maglr.com",
    "afwegingskadermeldcode.nl",
    "augeo.nl",
    "veiligthuishollandsmidden.nl",
    "ggdzeeland.nl",
    "veiligthuisnoordoostgelderland.nl",
    "signalenkaart.nl",
    "veiligthuisgelderlandzuid.nl",
    "toolkitaandachtsfunctionaris.nl",
    "movisie.nl",
    "universiteitleiden.nl",
}


def shipped() -> QuestionSetData:
    result = validate_text(SHIPPED.read_text("utf-8"), str(SHIPPED))
    assert result.problems == []
    assert result.data is not None
    return result.data


QUESTIONS = shipped().questions


def test_five_days_one_meldcode_step_each() -> None:
    data = shipped()
    assert (data.slug, data.language) == ("meldcode", "nl")
    assert [(q.day, q.meldcode_step) for q in data.questions] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]


def test_every_participant_is_told_to_check_their_own_sector() -> None:
    notice = shipped().sector_notice
    assert "eigen" in notice and "sector" in notice
    assert "meldcode" in notice and "afwegingskader" in notice


@pytest.mark.parametrize("q", QUESTIONS, ids=[f"day{q.day}" for q in QUESTIONS])
def test_explanation_names_the_right_answer_and_answers_each_wrong_one(q: QuestionData) -> None:
    correct = [o.label for o in q.options if o.correct]
    wrong = [o.label for o in q.options if not o.correct]
    assert re.findall(r"\*\*([A-E]) is goed\.\*\*", q.explanation) == correct
    assert re.findall(r"\*\*([A-E]) klopt niet\.\*\*", q.explanation) == wrong
    assert len(wrong) >= 2
    assert all(o.feedback for o in q.options)


@pytest.mark.parametrize("q", QUESTIONS, ids=[f"day{q.day}" for q in QUESTIONS])
def test_explanation_names_every_source_and_sources_come_from_the_facts(q: QuestionData) -> None:
    assert q.sources
    explanation = " ".join(q.explanation.split())  # a name may wrap across lines
    for source in q.sources:
        parts = urlsplit(source.url)
        assert parts.scheme == "https"
        assert parts.hostname is not None and parts.hostname.removeprefix("www.") in FACT_HOSTS
        organisation = source.title.split(" – ")[0]
        assert organisation in explanation, f"day {q.day}: explanation does not name {organisation}"


def test_the_answer_cannot_be_guessed_from_its_label_or_length() -> None:
    labels = Counter(next(o.label for o in q.options if o.correct) for q in QUESTIONS)
    assert max(labels.values()) <= 2
    longest_is_correct = sum(max(q.options, key=lambda o: len(o.text)).correct for q in QUESTIONS)
    assert longest_is_correct <= 2


def test_sentences_are_short() -> None:
    """A rough B1 check: short sentences on average and none very long."""
    data = shipped()
    texts = [data.intro, data.sector_notice]
    for q in data.questions:
        texts += [q.body, q.explanation, q.discussion_prompt]
        texts += [o.text for o in q.options] + [o.feedback or "" for o in q.options]
    sentences = [
        s.split() for text in texts for s in re.split(r"(?<=[.?!:])\s+|\n\n|\n- ", to_text(text)) if s.split()
    ]
    average = sum(map(len, sentences)) / len(sentences)
    assert average <= 10
    assert max(map(len, sentences)) <= 22
