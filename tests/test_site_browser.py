"""In a real browser (Chromium): the error summary of the admin forms and the
public form moves the focus and its links focus their fields, the reorder
buttons say why they are off, and the public site's own pages (colofon,
privacy and accessibility statements) are reachable from the footer, pass
axe and fit a phone (issue 19, items 8 and 10)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from quiz.db import session_scope, utcnow
from tests.admin_factories import EMAIL, PASSWORD, answered_participant, campaign_with_set, make_organiser
from tests.factories import make_campaign
from tests.test_admin_browser import AXE, assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    if AXE.is_file():
        context.add_init_script(path=str(AXE))
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


def focused_id(page: Any) -> str:
    return page.evaluate("document.activeElement.id")


def log_in(page: Any, url: str) -> None:
    page.goto(url + "/admin/")
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Campagnes")).to_be_visible()


def test_admin_error_summary_takes_the_focus_and_links_to_the_fields(live_server, page):
    with session_scope(live_server.app) as s:
        make_organiser(s)
        _, qs = campaign_with_set(s)
        set_id = qs.id
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/vragensets/{set_id}/vraag/2")
    page.get_by_label("Titel", exact=True).fill("")
    page.locator("#option-1-label").fill(page.locator("#option-0-label").input_value())
    page.get_by_role("button", name="Opslaan").first.click()

    summary = page.get_by_role("alert").filter(has_text="Niet opgeslagen: controleer de vraag")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(
        ["'Titel' is leeg", "Antwoord 2: Het label 'A' komt twee keer voor in deze vraag"]
    )
    assert_accessible(page, "editor-error-summary")

    summary.get_by_role("link", name="Antwoord 2").click()
    assert focused_id(page) == "option-1-label"
    expect(page.locator('label[for="option-1-label"]')).to_be_in_viewport()
    summary.get_by_role("link", name="'Titel' is leeg").click()
    assert focused_id(page) == "title"

    # The campaign form: a radio group's error links to its first button.
    page.goto(f"{live_server.url}/admin/campagnes/nieuw")
    page.get_by_label("Naam", exact=True).fill("")
    page.get_by_role("button", name="Opslaan").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    summary.get_by_role("link").first.click()
    assert focused_id(page) == "name"


def test_move_buttons_are_off_with_the_reason_once_answers_exist(live_server, page):
    with session_scope(live_server.app) as s:
        make_organiser(s)
        campaign, qs = campaign_with_set(s)
        answered_participant(s, campaign, qs)
        set_id = qs.id
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/vragensets/{set_id}")
    reason = "Verplaatsen kan niet: er zijn al antwoorden op deze versie van de set."
    expect(page.get_by_text(reason)).to_be_visible()
    later = page.get_by_role("button", name="Vraag 1 een dag later")
    expect(later).to_be_disabled()
    expect(later).to_have_accessible_description(
        reason + " Wil je de volgorde veranderen? Maak dan eerst een nieuwe versie."
    )
    page.goto(f"{live_server.url}/admin/vragensets/{set_id}/vraag/1")
    expect(page.get_by_text(reason)).to_be_visible()
    expect(page.get_by_role("button", name="Antwoord 1 omlaag")).to_be_disabled()
    assert_accessible(page, "editor-order-locked")


def test_public_form_error_summary_focus(live_server, page):
    with session_scope(live_server.app) as s:
        make_campaign(s, utcnow())
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Aanmelden").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    summary.get_by_role("link").first.click()
    assert focused_id(page) == "email"


@pytest.mark.parametrize("width", [320, 1280])
def test_colofon_privacy_and_accessibility_from_the_footer(live_server, context, width):
    with session_scope(live_server.app) as s:
        make_campaign(s, utcnow())
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(live_server.url + "/")
    footer = page.get_by_role("contentinfo")
    expect(footer).to_contain_text("Deze website is van het MeldcodeQuiz-team.")
    assert page.evaluate("document.querySelector('.owner-logo').naturalWidth") > 0  # the logo loads
    for link, heading in (
        ("Colofon en contact", "Colofon en contact"),
        ("Privacyverklaring", "Privacyverklaring MeldcodeQuiz"),
        ("Toegankelijkheid", "Toegankelijkheidsverklaring"),
    ):
        page.get_by_role("contentinfo").get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width, link
        assert_accessible(page, f"site-{heading.split()[0].lower()}-{width}")
    icon = page.request.get(live_server.url + "/favicon.ico")
    assert icon.ok and icon.headers["content-type"] == "image/vnd.microsoft.icon"
