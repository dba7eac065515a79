"""A newcomer's first minutes, in a real browser on a phone-sized screen:
sign up → read the confirmation in the dev mailbox → confirm → welcome page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from quiz.db import session_scope, utcnow
from tests.factories import make_campaign

pytestmark = pytest.mark.browser


def sign_up(page: Any, email: str, organisation: str, sector: str, name: str | None = None) -> None:
    """Fill in the signup form as a person does, send it, and see the next step."""
    page.get_by_label("E-mailadres").fill(email)
    if name:
        page.get_by_label("Naam (niet verplicht)").fill(name)
    page.get_by_label("Organisatie").fill(organisation)
    page.get_by_label("Sector").select_option(sector)
    page.get_by_label("Ik wil de vragen").check()
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("heading", name="Kijk in je e-mail")).to_be_visible()


def test_signup_confirm_welcome_on_a_phone(live_server, phone):
    with session_scope(live_server.app) as s:
        make_campaign(s, utcnow(), name="MeldcodeQuiz 2026")
    page = phone
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Doe mee met de MeldcodeQuiz")).to_be_visible()

    # A mistake first: the form says what is wrong, in Dutch, and keeps the input.
    page.get_by_label("E-mailadres").fill("sanne@@example")
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_text("Dit is geen geldig e-mailadres").first).to_be_visible()

    sign_up(page, "sanne@example.org", "Kinderdagverblijf Het Vlindertje", "kinderopvang", name="Sanne")

    # The form fits the phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    live_server.send_outbox()
    page.goto(live_server.url + "/dev/mailbox/")
    page.get_by_role("link", name="Bevestig je aanmelding voor de MeldcodeQuiz").click()
    page.get_by_role("link", name="/bevestig/").first.click()

    expect(page.get_by_role("heading", name="Bevestig je aanmelding")).to_be_visible()
    page.get_by_role("button", name="Ja, ik doe mee").click()
    expect(page.get_by_role("heading", name="Je doet mee!")).to_be_visible()
    expect(page.get_by_text("De quiz begint op")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
