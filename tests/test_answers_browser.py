"""The moment that matters most, in a real browser on a phone-sized screen:
open the question email in the dev mailbox, tap an answer, confirm, learn."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quiz.db import session_scope, utcnow
from quiz.delivery.outbox import enqueue
from quiz.models import Answer, LinkHit
from tests.answer_factories import make_players, make_quiz

pytestmark = pytest.mark.browser


def test_tap_an_answer_in_the_email_confirm_and_see_feedback(live_server, phone):
    now = utcnow()
    with session_scope(live_server.app) as s:
        campaign, qs = make_quiz(s, now)
        today = now.astimezone(ZoneInfo(campaign.timezone)).date()
        [sanne] = make_players(s, campaign, now, 1, first_day=today)
        sanne.name = "Sanne"
        question = qs.questions[0]
        enqueue(
            s, participant_id=sanne.id, kind="question", day=1, question_id=question.id, due_at=now, now=now
        )
        s.commit()
    live_server.send_outbox()

    page = phone
    page.goto(live_server.url + "/dev/mailbox/")
    page.get_by_role("link", name="Vraag 1 van 5: Vraag over stap 1").tap()
    page.get_by_role("link", name="Open de HTML-versie als pagina").tap()

    # The email as a phone shows it: the question, four large answer links.
    expect(page.get_by_role("heading", name="Vraag over stap 1")).to_be_visible()
    expect(page.get_by_text("Hallo Sanne,")).to_be_visible()
    option_b = page.get_by_role("link", name=re.compile("Antwoord B bij vraag 1"))
    box = option_b.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # a thumb-sized target
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    option_b.tap()

    # The confirm page: B chosen, the others still choosable, one button.
    expect(page.get_by_role("heading", name="Vraag over stap 1")).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile("Antwoord B"))).to_be_checked()
    expect(page.get_by_role("radio")).to_have_count(4)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    with session_scope(live_server.app) as s:
        assert s.scalars(select(Answer)).all() == []  # opening the link answered nothing
        assert len(s.scalars(select(LinkHit)).all()) == 1
    page.get_by_role("button", name="Bevestig mijn antwoord").tap()

    expect(page.get_by_role("heading", name="Goed!")).to_be_visible()
    expect(page.get_by_role("heading", name="Uitleg")).to_be_visible()
    expect(page.get_by_role("heading", name="Praat erover met je team")).to_be_visible()
    expect(page.get_by_role("link", name="Naar Mijn quiz")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    with session_scope(live_server.app) as s:
        [answer] = s.scalars(select(Answer)).all()
        assert answer.option.label == "B"

    page.get_by_role("link", name="Naar Mijn quiz").tap()
    expect(page.get_by_role("heading", name="Mijn quiz")).to_be_visible()
    expect(page.get_by_text("Beantwoord: B · goed")).to_be_visible()
