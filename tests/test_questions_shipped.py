"""The shipped sets, questions/meldcode.toml and questions/meldcode-verdieping.toml:
valid, complete, sourced, B1 Dutch, and published as a new version where
participants may have answered the old one.

What each correct answer rests on is checked in tests/test_questions_facts.py.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz.models import Answer, QuestionSet
from quiz.questionsets import QuestionData, QuestionSetData, validate_text
from quiz.questionsets.richtext import to_text
from quiz.questionsets.store import ImportRefused, data_from_model, import_set
from tests.conftest import at
from tests.factories import make_campaign, make_participant
from tests.readability import MINIMUM, flesch_douma, question_text, words_to_avoid

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "meldcode": ROOT / "questions" / "meldcode.toml",
    "meldcode-verdieping": ROOT / "questions" / "meldcode-verdieping.toml",
}
VERSION_1 = Path(__file__).parent / "data" / "shipped" / "meldcode-v1.toml"
FACTS = ROOT / "docs" / "meldcode-facts.md"


def load(path: Path) -> QuestionSetData:
    result = validate_text(path.read_text("utf-8"), str(path))
    assert result.problems == []
    assert result.data is not None
    return result.data


DATA = {slug: load(path) for slug, path in SETS.items()}
QUESTIONS = [(slug, q) for slug, data in DATA.items() for q in data.questions]
IDS = [f"{slug}-day{q.day}" for slug, q in QUESTIONS]
SHIPPED = DATA["meldcode"]


def texts_of(q: QuestionData) -> list[str]:
    return [q.title, q.body, q.explanation, q.discussion_prompt] + [
        t for o in q.options for t in (o.text, o.feedback or "")
    ]


def flat(text: str) -> str:
    """Plain text on one line: a phrase may wrap, or carry *emphasis*."""
    return " ".join(to_text(text).split())


def test_five_days_one_meldcode_step_each() -> None:
    assert (SHIPPED.slug, SHIPPED.language) == ("meldcode", "nl")
    assert [(q.day, q.meldcode_step) for q in SHIPPED.questions] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]


def test_the_second_set_has_five_other_questions() -> None:
    second = DATA["meldcode-verdieping"]
    assert (second.slug, second.language, len(second.questions)) == ("meldcode-verdieping", "nl", 5)
    assert not {q.title for q in second.questions} & {q.title for q in SHIPPED.questions}


@pytest.mark.parametrize("slug", SETS)
def test_every_participant_is_told_to_check_their_own_sector(slug: str) -> None:
    notice = DATA[slug].sector_notice
    assert "eigen" in notice and "sector" in notice
    assert "meldcode" in notice and "afwegingskader" in notice


@pytest.mark.parametrize("slug", SETS)
def test_the_sets_validate_without_warnings(slug: str) -> None:
    assert validate_text(SETS[slug].read_text("utf-8"), slug).warnings == []


@pytest.mark.parametrize(("slug", "q"), QUESTIONS, ids=IDS)
def test_explanation_names_the_right_answer_and_answers_each_wrong_one(slug: str, q: QuestionData) -> None:
    correct = [o.label for o in q.options if o.correct]
    wrong = [o.label for o in q.options if not o.correct]
    assert re.findall(r"\*\*([A-E]) is goed\.\*\*", q.explanation) == correct
    assert re.findall(r"\*\*([A-E]) klopt niet\.\*\*", q.explanation) == wrong
    assert len(wrong) >= 2
    assert all(o.feedback for o in q.options)


@pytest.mark.parametrize(("slug", "q"), QUESTIONS, ids=IDS)
def test_every_source_opens_a_page_from_the_facts_and_is_named(slug: str, q: QuestionData) -> None:
    """Sources link the page that supports the claim (issue 20, item 4): a
    deep link that docs/meldcode-facts.md lists, never a home page."""
    facts = FACTS.read_text("utf-8")
    assert q.sources
    explanation = " ".join(q.explanation.split())  # a name may wrap across lines
    for source in q.sources:
        parts = urlsplit(source.url)
        assert parts.scheme == "https"
        assert parts.path not in ("", "/"), f"{source.url} is a home page"
        address = source.url.removeprefix("https://").removeprefix("www.").rstrip("/")
        assert address in facts, f"{slug} day {q.day}: {source.url} is not in {FACTS.name}"
        assert parts.hostname != "www.afwegingskadermeldcode.nl"  # could not be confirmed
        organisation = source.title.split(" – ")[0]
        assert organisation in explanation, f"{slug} day {q.day}: explanation does not name {organisation}"


@pytest.mark.parametrize("slug", SETS)
def test_the_answer_cannot_be_guessed_from_its_label_or_length(slug: str) -> None:
    questions = DATA[slug].questions
    labels = Counter(next(o.label for o in q.options if o.correct) for q in questions)
    assert max(labels.values()) <= 2
    longest_is_correct = sum(max(q.options, key=lambda o: len(o.text)).correct for q in questions)
    assert longest_is_correct <= 2


@pytest.mark.parametrize("slug", SETS)
def test_sentences_are_short(slug: str) -> None:
    """A rough B1 check: short sentences on average and none very long."""
    data = DATA[slug]
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


@pytest.mark.parametrize(("slug", "q"), QUESTIONS, ids=IDS)
def test_b1_no_officialese(slug: str, q: QuestionData) -> None:
    """No "daartoe", "nog niet eens", "kinderen onder de 18" and the like (issue 20, item 5)."""
    assert [w for t in texts_of(q) for w in words_to_avoid(flat(t))] == []


@pytest.mark.parametrize(("slug", "q"), QUESTIONS, ids=IDS)
def test_b1_readability_per_question(slug: str, q: QuestionData) -> None:
    """Flesch-Douma (textstat) of everything a participant reads for the question;
    `.venv/bin/python -m tests.readability questions/*.toml` prints the figures."""
    assert flesch_douma(question_text(q)) >= MINIMUM


def test_the_readability_measure_tells_plain_from_official_dutch() -> None:
    plain = "Je ziet blauwe plekken bij Sara. Je vraagt een collega om raad. Samen kijk je wat nodig is."
    official = (
        "Indien er ten aanzien van de veiligheid van minderjarigen gerechtvaardigde zorgen bestaan, "
        "dient de beroepskracht derhalve onverwijld de aandachtsfunctionaris te raadplegen."
    )
    assert flesch_douma(plain) >= MINIMUM > flesch_douma(official)
    assert words_to_avoid(official) == ["indien", "ten aanzien van", "derhalve", "dient"]


# What a Veilig Thuis trainer found in version 1 (issue 20, items 1-3), as
# (day, phrases the question must contain, phrases it must not contain). The
# whole question is searched: title, body, explanation, prompt, options, feedback.
TRAINER = [
    (
        1,
        ["Dan doe je de kindcheck", "een verslaving zegt nog niet hoe het met zijn kinderen gaat"],
        ["extra belangrijk"],
    ),
    (
        2,
        ["Buiten kantoortijd kun je er terecht met dringende situaties", "Bel dan 112",
         "privacy van het gezin"],
        ["dag en nacht", "daartoe", "letsel beoordeelt"],
    ),
    (
        3,
        ["vraagt hoe de ouders daarop reageren", "je overlegt eerst", "In het dossier schrijf je op waarom",
         "Praat ook met Daan zelf"],
        [],
    ),
    (
        4,
        ["beslis je samen met Veilig Thuis", "Luister rustig", "Beloof niet dat je het geheimhoudt",
         "Vertel wat je nu gaat doen", "Spreek met Veilig Thuis af hoe en wanneer de ouders het horen",
         "Veilig Thuis eerst hoe veilig", "zelf een vorm van kindermishandeling", "wat beloof je haar niet"],
        ["Veilig Thuis onderzoekt", "Daarnaast kun je ook zelf hulp bieden", "Zoek het samen op"],
    ),
    (
        5,
        ["Hulp bieden is geen reden om niet te melden", "Het antwoord op allebei kan ja zijn",
         "In de kinderopvang meld je geweld of seksueel misbruik door een collega",
         "In het onderwijs meld je mogelijk seksueel misbruik"],
        ["Welke vragen stel je jezelf", "melden én hulp", "Allebei kan tegelijk"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("day", "present", "absent"), TRAINER, ids=[f"day{d}" for d, _, _ in TRAINER])
def test_what_the_trainer_asked_for_is_in_the_text(day: int, present: list[str], absent: list[str]) -> None:
    q = SHIPPED.questions[day - 1]
    whole = " ".join(flat(t) for t in texts_of(q))
    assert [p for p in present if p not in whole] == []
    assert [a for a in absent if a.lower() in whole.lower()] == []


def test_day_5_options_are_all_replies_to_the_teammate() -> None:
    """No option is written differently from the others (issue 20, item 1):
    each one answers the teammate in the first person plural or singular."""
    day5 = SHIPPED.questions[4]
    assert "Wat zeg je terug?" in day5.body
    assert all(re.search(r"\b(we|wij|ons|onze)\b", o.text, re.IGNORECASE) for o in day5.options)
    assert not any("?" in o.text for o in day5.options)


def _stored(session: Session) -> list[QuestionSet]:
    session.expire_all()
    return list(session.scalars(select(QuestionSet).order_by(QuestionSet.version)))


def test_version_2_is_published_next_to_version_1_and_its_answers(session: Session) -> None:
    """Participants may have answered version 1: the rewritten set cannot
    replace it in place, and publishing it as a new version leaves version 1,
    its answers and its campaign alone (issue 20, item 7)."""
    now = at("2026-11-16 09:00")
    v1 = import_set(session, load(VERSION_1), now).question_set
    campaign = make_campaign(session, now, question_set_id=v1.id)
    participant = make_participant(session, campaign, now)
    day5 = v1.questions[4]
    chosen = next(o for o in day5.options if o.label == "C")  # correct in version 1
    session.add(Answer(participant=participant, question=day5, option=chosen, answered_at=now))
    session.commit()

    later = now + timedelta(days=30)
    with pytest.raises(ImportRefused) as refused:
        import_set(session, SHIPPED, later)
    assert "day 5: the correct option would change from C to B" in refused.value.reasons
    assert [qs.version for qs in _stored(session)] == [1]

    result = import_set(session, SHIPPED, later, new_version=True)
    assert result.action == "new_version"
    old, new = _stored(session)
    assert (old.version, new.version) == (1, 2)
    assert data_from_model(old) == load(VERSION_1)
    assert data_from_model(new) == SHIPPED
    session.refresh(campaign)
    assert campaign.question_set_id == old.id
    assert session.scalars(select(Answer)).one().option.text == chosen.text


def test_the_second_set_imports_as_its_own_set(session: Session) -> None:
    now = at("2026-11-16 09:00")
    import_set(session, SHIPPED, now)
    result = import_set(session, DATA["meldcode-verdieping"], now)
    assert result.action == "created"
    assert sorted((qs.slug, qs.version) for qs in _stored(session)) == [
        ("meldcode", 1),
        ("meldcode-verdieping", 1),
    ]
