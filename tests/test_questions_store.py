"""Importing question sets: all or nothing, updates in place, and what is refused
once participants have answered."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quiz.cli.campaigns import ensure_default_campaign
from quiz.models import Answer, Option, Question, QuestionSet
from quiz.questionsets import OptionData, QuestionData, QuestionSetData, SourceData
from quiz.questionsets.store import ImportRefused, data_from_model, import_set
from tests.conftest import at
from tests.factories import make_campaign, make_participant

NOW = at("2026-11-10 09:00")
LATER = at("2026-11-17 09:00")


def question(day: int, correct: str = "B", labels: str = "ABC") -> QuestionData:
    return QuestionData(
        day=day,
        title=f"Vraag {day}",
        body=f"Wat doe je op dag {day}?",
        explanation="Uitleg. Bron: Rijksoverheid.",
        discussion_prompt="Bespreek het met je team.",
        meldcode_step=day if day <= 5 else None,
        options=tuple(OptionData(label, f"Antwoord {label}", label == correct) for label in labels),
        sources=(SourceData("Rijksoverheid", "https://www.rijksoverheid.nl"),),
    )


def make_set(*questions: QuestionData, slug: str = "proef") -> QuestionSetData:
    return QuestionSetData(
        slug=slug,
        title="Proefset",
        language="nl",
        intro="Welkom.",
        sector_notice="Check de meldcode van je eigen sector.",
        questions=questions or (question(1), question(2)),
    )


def stored(session: Session, slug: str = "proef") -> list[QuestionSet]:
    session.expire_all()
    return list(
        session.scalars(select(QuestionSet).where(QuestionSet.slug == slug).order_by(QuestionSet.version))
    )


def option_ids(qs: QuestionSet) -> dict[tuple[int, str], int]:
    return {(q.position, o.label): o.id for q in qs.questions for o in q.options}


def answer(session: Session, qs: QuestionSet, day: int, label: str, now: datetime = LATER) -> Answer:
    campaign = make_campaign(session, NOW, question_set_id=qs.id)
    participant = make_participant(session, campaign, NOW)
    q = next(q for q in qs.questions if q.position == day)
    option = next(o for o in q.options if o.label == label)
    row = Answer(participant_id=participant.id, question_id=q.id, option_id=option.id, answered_at=now)
    session.add(row)
    session.commit()
    return row


def test_import_stores_everything(session: Session) -> None:
    result = import_set(session, make_set(), NOW)
    assert result.action == "created"
    [qs] = stored(session)
    assert (qs.version, qs.title, qs.sector_notice, qs.created_at) == (
        1,
        "Proefset",
        make_set().sector_notice,
        NOW,
    )
    assert [(q.position, q.meldcode_step) for q in qs.questions] == [(1, 1), (2, 2)]
    first = qs.questions[0]
    assert [(o.position, o.label, o.is_correct) for o in first.options] == [
        (1, "A", False),
        (2, "B", True),
        (3, "C", False),
    ]
    assert first.sources == [{"title": "Rijksoverheid", "url": "https://www.rijksoverheid.nl"}]
    assert data_from_model(qs) == make_set()


def test_import_is_one_transaction(session: Session) -> None:
    """Validation stops bad files; should the database still refuse a row
    halfway (here: two questions for day 1), nothing of the set remains."""
    with pytest.raises(IntegrityError):
        import_set(session, make_set(question(1), question(1)), NOW)
    assert stored(session) == []
    assert session.scalar(select(func.count(Option.id))) == 0


def test_reimporting_the_same_set_changes_nothing(session: Session) -> None:
    import_set(session, make_set(), NOW)
    ids = option_ids(stored(session)[0])
    result = import_set(session, make_set(), LATER)
    assert result.action == "unchanged"
    [qs] = stored(session)
    assert qs.updated_at == NOW
    assert option_ids(qs) == ids


def test_update_without_answers_may_change_anything(session: Session) -> None:
    import_set(session, make_set(question(1), question(2), question(3)), NOW)
    before = option_ids(stored(session)[0])
    new = make_set(question(1, correct="C", labels="CAB"), replace(question(2), title="Nieuwe titel"))
    result = import_set(session, new, LATER)
    assert result.action == "updated"
    [qs] = stored(session)
    assert data_from_model(qs) == new
    assert qs.updated_at == LATER
    # Options keep their rows (and so their link hits) when they only move.
    assert option_ids(qs)[(1, "C")] == before[(1, "C")]
    assert session.scalar(select(func.count(Question.id))) == 2


def test_update_with_answers_may_fix_texts(session: Session) -> None:
    import_set(session, make_set(), NOW)
    qs = stored(session)[0]
    given = answer(session, qs, 1, "B")
    ids = option_ids(qs)
    q1 = question(1)
    fixed = replace(
        q1,
        title="Vraag 1 (verbeterd)",
        explanation="Betere uitleg.",
        options=(
            q1.options[0],
            replace(q1.options[1], text="Beter antwoord B", feedback="Goed zo."),
            q1.options[2],
        ),
    )
    added = question(3)
    import_set(session, make_set(fixed, question(2), added), LATER)
    [qs] = stored(session)
    assert data_from_model(qs) == make_set(fixed, question(2), added)
    assert option_ids(qs)[(1, "B")] == ids[(1, "B")]
    session.refresh(given)
    assert given.option.text == "Beter antwoord B"
    assert given.option.is_correct


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        (
            make_set(question(1, correct="C"), question(2)),
            "day 1: the correct option would change from B to C",
        ),
        (make_set(question(1, labels="AB"), question(2)), "day 1: option(s) C would be removed"),
        (
            make_set(question(1, labels="BAC"), question(2)),
            "day 1: options would be reordered (A, B, C → B, A, C)",
        ),
        (make_set(question(1)), "day 2 ('Vraag 2') would be removed"),
        (
            make_set(replace(question(1), title="Vraag 2"), replace(question(2), title="Vraag 1")),
            "question 'Vraag 1' would move from day 1 to day 2",
        ),
    ],
    ids=["correct-changed", "option-removed", "options-reordered", "question-removed", "questions-swapped"],
)
def test_update_that_changes_the_meaning_of_answers_is_refused(
    session: Session, new: QuestionSetData, reason: str
) -> None:
    import_set(session, make_set(), NOW)
    answer(session, stored(session)[0], 1, "B")
    with pytest.raises(ImportRefused) as refused:
        import_set(session, new, LATER)
    assert reason in refused.value.reasons
    message = refused.value.explain()
    assert "1 answer(s) are recorded for 'proef' version 1" in message
    assert "quiz questions import FILE --new-version" in message
    [qs] = stored(session)
    assert data_from_model(qs) == make_set()
    assert qs.updated_at == NOW


def test_new_version_leaves_the_old_one_and_its_campaign_alone(session: Session) -> None:
    import_set(session, make_set(), NOW)
    old = stored(session)[0]
    given = answer(session, old, 1, "B")
    changed = make_set(question(1, correct="C"), question(2))
    result = import_set(session, changed, LATER, new_version=True)
    assert result.action == "new_version"
    v1, v2 = stored(session)
    assert (v1.version, v2.version) == (1, 2)
    assert data_from_model(v1) == make_set()
    assert data_from_model(v2) == changed
    session.refresh(given)
    assert given.participant.campaign.question_set_id == v1.id
    # Updating now goes to version 2, which has no answers yet.
    assert import_set(session, make_set(question(1, correct="A"), question(2)), LATER).action == "updated"
    assert data_from_model(stored(session)[1]).questions[0].options[0].correct


def test_default_campaign_gets_the_newest_meldcode_set(session: Session) -> None:
    campaign, created = ensure_default_campaign(session, NOW)
    assert created and campaign.question_set_id is None
    import_set(session, make_set(slug="meldcode"), NOW)
    import_set(session, make_set(slug="meldcode"), NOW, new_version=True)
    campaign, created = ensure_default_campaign(session, LATER)
    assert not created
    assert (campaign.question_set.slug, campaign.question_set.version) == ("meldcode", 2)
    # A campaign that has questions keeps them.
    import_set(session, make_set(slug="meldcode"), NOW, new_version=True)
    campaign, _ = ensure_default_campaign(session, LATER)
    assert campaign.question_set.version == 2
