"""'Besproken in ons team': GET shows a button and records nothing, POST
records (the first moment counts); the discussion rate is one statistic."""

from __future__ import annotations

import re

import pytest
import time_machine
from sqlalchemy import select

from quiz.admin import figures as dashboard
from quiz.answering.answers import record_answer
from quiz.answering.stats import discussion_percent, discussion_rates
from quiz.links import answer_token, discussed_token
from quiz.models import Answer
from tests.answer_factories import make_players, make_quiz
from tests.conftest import at

NOW = at("2026-11-17 10:00")


@pytest.fixture
def quiz(session):
    campaign, qs = make_quiz(session, at("2026-11-01 09:00"))
    players = make_players(session, campaign, at("2026-11-01 09:00"), 4)
    q1 = qs.questions[0]
    for i, person in enumerate(players[:3]):  # three answered question 1, the fourth did not
        record_answer(session, person.id, q1.id, q1.options[i].id, at("2026-11-16 09:00"))
    return campaign, qs, players


@pytest.fixture(autouse=True)
def frozen(app):
    """Frozen inside the answer window; an app context for signing tokens."""
    with time_machine.travel(NOW, tick=False), app.app_context():
        yield


def discussed_at(session, person, question):
    session.expire_all()
    return session.scalar(
        select(Answer.discussed_at).where(
            Answer.participant_id == person.id, Answer.question_id == question.id
        )
    )


def test_get_and_head_record_nothing_post_records_once(client, session, quiz):
    _, qs, players = quiz
    q1, person = qs.questions[0], players[0]
    url = f"/besproken/{discussed_token(person.id, q1.id)}"

    page = client.get(url)
    assert page.status_code == 200
    assert "Hebben jullie deze vraag besproken?" in page.text
    assert '<button type="submit" class="button">Besproken in ons team</button>' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert client.head(url).status_code == 200
    assert discussed_at(session, person, q1) is None  # a scanner opening the link records nothing

    done = client.post(url)
    assert done.status_code == 200 and "We hebben genoteerd" in done.text
    assert discussed_at(session, person, q1) == NOW

    with time_machine.travel(at("2026-11-18 10:00"), tick=False):
        again = client.post(url)
    assert again.status_code == 200
    assert discussed_at(session, person, q1) == NOW  # the first moment counts
    assert "Je hebt al doorgegeven" in client.get(url).text


def test_without_an_answer_nothing_is_recorded(client, session, quiz):
    _, qs, players = quiz
    q1, person = qs.questions[0], players[3]
    response = client.post(f"/besproken/{discussed_token(person.id, q1.id)}")
    assert response.status_code == 409
    assert "Beantwoord eerst de vraag" in response.text
    assert session.scalar(select(Answer).where(Answer.participant_id == person.id)) is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_or_foreign_token_gets_a_dutch_400(client, session, quiz, method):
    campaign, qs, players = quiz
    token = discussed_token(players[0].id, qs.questions[0].id)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = getattr(client, method)(f"/besproken/{tampered}")
    assert response.status_code == 400
    assert "Deze link klopt niet" in response.text
    # an answer token is not a 'besproken' token
    response = getattr(client, method)(f"/besproken/{answer_token(players[0].id, qs.questions[0].id)}")
    assert response.status_code == 400
    assert discussed_at(session, players[0], qs.questions[0]) is None


def test_the_feedback_page_has_the_button_and_it_records(client, session, quiz):
    _, qs, players = quiz
    q1, person = qs.questions[0], players[1]
    feedback = client.get(f"/a/{answer_token(person.id, q1.id)}")
    assert feedback.status_code == 200
    action = re.search(
        r'<form method="post" action="(/besproken/[^"]+)" class="discussed-form">', feedback.text
    )
    assert action and "Besproken in ons team" in feedback.text
    assert client.post(action.group(1)).status_code == 200
    assert discussed_at(session, person, q1) == NOW
    again = client.get(f"/a/{answer_token(person.id, q1.id)}").text
    assert "Je hebt doorgegeven dat jullie deze vraag in je team hebben besproken." in again
    assert 'class="discussed-form"' not in again


def test_discussion_rate_is_one_statistic_for_stats_and_dashboard(client, session, quiz):
    campaign, qs, players = quiz
    q1 = qs.questions[0]
    client.post(f"/besproken/{discussed_token(players[0].id, q1.id)}")
    rates = discussion_rates(session, campaign.id)
    assert (rates[q1.id].answered, rates[q1.id].discussed, rates[q1.id].percent) == (3, 1, 33)
    figures = dashboard.build(session, campaign).questions[0]
    assert figures.discussion_rate == rates[q1.id].percent == 33
    assert discussion_percent(0, 0) is None
