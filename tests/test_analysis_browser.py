"""The retention section of the dashboard and the item-analysis page in a
real browser: what an organiser reads, an axe-core check (WCAG 2.1 A/AA), and
both still usable at 375 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from quiz.db import session_scope, utcnow
from tests.admin_factories import EMAIL, PASSWORD, answer, campaign_with_set, make_organiser, repeat_answer
from tests.factories import make_participant
from tests.test_admin_browser import assert_accessible, desktop, fits  # noqa: F401 - the fixture too

pytestmark = pytest.mark.browser

PEOPLE = 32  # above MIN_ITEM_ANSWERS (30): the item analysis shows its figures


@pytest.fixture
def campaign(live_server):
    """32 people answered all five questions: the right answer, except that
    person i chose A on question 1 when i % 4 == 0 (8 people) and nobody ever
    chose D there. Everyone got question 1 again; all 32 had it right then."""
    with session_scope(live_server.app) as s:
        make_organiser(s)
        campaign, qs = campaign_with_set(s, name="Week tegen Kindermishandeling", repeats="all")
        for i in range(PEOPLE):
            person = make_participant(s, campaign, utcnow(), email=f"p{i}@example.org")
            for day, question in enumerate(qs.questions, start=1):
                wrong = day == 1 and i % 4 == 0 or day == 3 and i % 3 == 0
                label = "A" if wrong else question.correct_option.label
                answer(s, person, qs, day, label)
            repeat_answer(s, person, qs, 1, qs.questions[0].correct_option.label)
        return campaign.id, qs.id, qs.questions[0].title


def test_retention_and_item_analysis(live_server, desktop, campaign):  # noqa: F811
    campaign_id, set_id, title = campaign
    page = desktop
    page.goto(live_server.url + "/admin/")
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Campagnes")).to_be_visible()

    page.goto(f"{live_server.url}/admin/campagnes/{campaign_id}")
    section = page.get_by_role("region", name="Onthouden: eerste poging en herhaling")
    expect(section).to_be_visible()
    table = section.get_by_role("table", name="Goed bij de eerste poging en bij de herhaling, per vraag")
    row = table.get_by_role("row", name=f"1. {title}")
    # 24 of 32 right in the week, all 32 at the repeat: 75 % → 100 %.
    expect(row).to_contain_text("75 % (24 van 32)")
    expect(row).to_contain_text("100 % (32 van 32)")
    expect(row).to_contain_text("+25 procentpunt")
    sectors = section.get_by_role("table", name="Goed bij de eerste poging en bij de herhaling, per sector")
    expect(sectors.get_by_role("row", name="Onderwijs")).to_contain_text("+25 procentpunt")
    assert_accessible(page, "dashboard-retention")

    page.get_by_role("link", name="Itemanalyse van deze vragen").click()
    expect(page.get_by_role("heading", name="Itemanalyse: MeldcodeQuiz", exact=False)).to_be_visible()
    overview = page.get_by_role("table", name="Overzicht per vraag")
    expect(overview.get_by_role("row", name=title)).to_contain_text("75 %")
    options = page.get_by_role("table", name="Vraag 1: per antwoord", exact=False)
    expect(options.get_by_role("row", name=re.compile(r"^A\. "))).to_contain_text("25 %")
    nobody = options.get_by_role("row", name=re.compile(r"^D\. "))
    expect(nobody).to_contain_text("Niemand koos dit antwoord.")
    assert_accessible(page, "item-analysis")

    page.set_viewport_size({"width": 375, "height": 740})
    for path in (f"/admin/campagnes/{campaign_id}", f"/admin/vragensets/{set_id}/itemanalyse"):
        page.goto(live_server.url + path)
        assert fits(page), path
