"""A repeat question in a real browser on a phone: open the repeat email in
the dev mailbox, tap an answer, confirm, see the earlier choice next to the
new one, then stop the repeats; axe-core (WCAG 2.1 A/AA) on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quiz.db import session_scope, utcnow
from quiz.delivery.outbox import enqueue
from quiz.models import Answer, Participant, RepeatAnswer
from tests.answer_factories import make_players, make_quiz
from tests.test_admin_browser import AXE, assert_accessible, fits

pytestmark = pytest.mark.browser


@pytest.fixture
def phone_with_axe(browser):
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True, locale="nl-NL"
    )
    if AXE.is_file():
        context.add_init_script(path=str(AXE))
    page = context.new_page()
    yield page
    context.close()


def test_answer_a_repeat_and_stop_the_repeats(live_server, phone_with_axe):
    now = utcnow()
    with session_scope(live_server.app) as s:
        campaign, qs = make_quiz(s, now, repeats="wrong")
        [sanne] = make_players(s, campaign, now, 1, first_day=now.date())
        sanne.name, sanne.status = "Sanne", "completed"
        question = qs.questions[0]
        wrong = next(o for o in question.options if o.label == "A")
        s.add(Answer(participant_id=sanne.id, question_id=question.id, option_id=wrong.id, answered_at=now))
        enqueue(
            s, participant_id=sanne.id, kind="repeat", day=101, question_id=question.id, due_at=now, now=now
        )
        s.commit()
        sanne_id = sanne.id
    live_server.send_outbox()

    page = phone_with_axe
    page.goto(live_server.url + "/dev/mailbox/")
    page.get_by_role("link", name="Herhaalvraag: Vraag over stap 1").tap()
    page.get_by_role("link", name="Open de HTML-versie als pagina").tap()
    expect(page.get_by_text("Weet je het nog?")).to_be_visible()
    email_url = page.url
    page.get_by_role("link", name=re.compile("Antwoord B bij vraag 1")).tap()

    # The confirm page: B chosen, nothing recorded yet.
    expect(page.get_by_role("radio", name=re.compile("Antwoord B"))).to_be_checked()
    assert fits(page)
    assert_accessible(page, "repeat-question")
    with session_scope(live_server.app) as s:
        assert s.scalars(select(RepeatAnswer)).all() == []
    page.get_by_role("button", name="Bevestig mijn antwoord").tap()

    expect(page.get_by_role("heading", name="Goed!")).to_be_visible()
    expect(page.get_by_text("Eerder koos je A, nu B.")).to_be_visible()
    assert fits(page)
    assert_accessible(page, "repeat-feedback")

    page.goto(email_url)
    page.get_by_role("link", name="Stop de herhaalvragen").tap()
    expect(page.get_by_role("heading", name="Herhaalvragen stoppen")).to_be_visible()
    assert_accessible(page, "repeat-stop")
    page.get_by_role("button", name="Stop de herhaalvragen").tap()
    expect(page.get_by_role("heading", name="De herhaalvragen zijn gestopt")).to_be_visible()
    assert_accessible(page, "repeat-stopped")
    with session_scope(live_server.app) as s:
        person = s.get(Participant, sanne_id)
        assert person.repeats_stopped_at is not None and person.status == "completed"
        assert [a.round for a in s.scalars(select(RepeatAnswer))] == [1]
