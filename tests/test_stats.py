"""How others answered: counted per campaign, shown from 10 answers on,
confirmed answers only (scanner sweeps and other link hits never count)."""

from __future__ import annotations

import re

import pytest
import time_machine

from quiz.answering.answers import record_answer
from quiz.answering.stats import MIN_ANSWERS_SHOWN, Distribution, answer_distribution, link_hit_counts
from quiz.links import answer_token
from quiz.models import LinkHit
from tests.answer_factories import make_players, make_quiz
from tests.conftest import at
from tests.factories import make_campaign

NOW = at("2026-11-16 09:00")


@pytest.fixture
def quiz(app, session):
    campaign, qs = make_quiz(session, NOW)
    return campaign, qs.questions[0]


def answer_all(session, players, question, labels: str) -> None:
    by_label = {o.label: o.id for o in question.options}
    for player, label in zip(players, labels, strict=True):
        record_answer(session, player.id, question.id, by_label[label], NOW)


def test_distribution_counts_one_campaign(session, quiz):
    campaign, question = quiz
    answer_all(session, make_players(session, campaign, NOW, 4), question, "ABBB")
    # Another campaign on the same question set answers too; it is not counted.
    other = make_campaign(session, NOW, slug="ander", question_set_id=campaign.question_set_id)
    others = [p for p in make_players(session, other, NOW, 3)]
    answer_all(session, others, question, "CCC")

    dist = answer_distribution(session, campaign.id, question.id)
    by_label = {o.label: o.id for o in question.options}
    assert dist.total == 4
    assert dist.counts == {by_label["A"]: 1, by_label["B"]: 3}
    assert [dist.percent(by_label[x]) for x in "ABCD"] == [25, 75, 0, 0]


@pytest.mark.parametrize(("total", "shown"), [(0, False), (1, False), (9, False), (10, True), (250, True)])
def test_bars_are_shown_from_ten_answers(total, shown):
    assert MIN_ANSWERS_SHOWN == 10
    assert Distribution({1: total}, total).shown is shown


def test_percent_of_nothing_is_zero():
    assert Distribution({}, 0).percent(1) == 0


def bars(page_text: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<span class="bar-label">(\w)[^<]*</span>.*?<span class="bar-value">(\d+)%</span>', page_text, re.S
    )


@pytest.mark.parametrize(("others", "shown"), [(8, False), (9, True)])
def test_feedback_page_shows_bars_only_from_ten_answers(app, client, session, quiz, others, shown):
    campaign, question = quiz
    players = make_players(session, campaign, NOW, others + 1)
    answer_all(session, players[1:], question, ("BBBAAACCD" * 2)[:others])
    me = players[0]
    with app.app_context():
        link = f"/a/{answer_token(me.id, question.id)}"
    b = next(o.id for o in question.options if o.label == "B")
    with time_machine.travel(NOW, tick=False):
        page = client.post(link, data={"option": str(b)})
    assert page.status_code == 200
    if shown:
        # 9 others (BBBAAACCD) + me (B) = 10 answers.
        assert bars(page.text) == [("A", "30"), ("B", "40"), ("C", "20"), ("D", "10")]
        assert "10 deelnemers hebben deze vraag beantwoord." in page.text
    else:
        assert bars(page.text) == []
        assert "Vanaf 10 antwoorden zie je hier hoe anderen antwoordden." in page.text


def test_link_hit_counts_leave_sweeps_out(session, quiz):
    campaign, question = quiz
    [p] = make_players(session, campaign, NOW, 1)
    a, b = question.options[0].id, question.options[1].id
    for option_id, sweep in ((a, True), (b, True), (a, False), (b, False), (b, False)):
        session.add(LinkHit(participant_id=p.id, question_id=question.id, option_id=option_id,
                            method="GET", hit_at=NOW, is_sweep=sweep))  # fmt: skip
    session.commit()
    assert link_hit_counts(session, question.id) == {a: 1, b: 2}
