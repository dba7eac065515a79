"""The public campaign and the QR code in a real browser (issue 19, item 2):
an organiser sees which campaign the front page serves, scans the QR code of
another campaign's signup link (decoded from what Chromium draws) and makes
that campaign public; axe-core checks the pages on the way."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from quiz.db import session_scope, utcnow
from tests.admin_factories import EMAIL, PASSWORD, import_meldcode, make_organiser
from tests.factories import make_campaign
from tests.test_admin_browser import AXE, assert_accessible, fits

pytestmark = pytest.mark.browser


def test_organiser_shares_a_campaign_and_puts_it_on_the_front_page(live_server, browser):
    with session_scope(live_server.app) as s:
        make_organiser(s)
        qs = import_meldcode(s)
        make_campaign(s, utcnow(), slug="najaar", name="Najaar 2026", question_set_id=qs.id, public=True)
        zorg = make_campaign(s, utcnow(), slug="zorg", name="Zorg en welzijn", question_set_id=qs.id).id
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    context.add_init_script(path=str(AXE))
    page = context.new_page()

    page.goto(live_server.url + "/admin/")
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.locator(".public-campaign")).to_have_text("Voorpagina: Najaar 2026")

    page.goto(f"{live_server.url}/admin/campagnes/{zorg}")
    sharing = page.get_by_role("region", name="Aanmelden en delen")
    expect(sharing.get_by_role("link", name=f"{live_server.url}/c/zorg")).to_be_visible()
    qr = sharing.get_by_role("img", name=f"QR-code van de aanmeldlink {live_server.url}/c/zorg")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    assert_accessible(page, "campaign-sharing")

    # What a phone's camera reads from the code as the browser draws it.
    scanned = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
    assert [code.text for code in scanned] == [f"{live_server.url}/c/zorg"]
    page.goto(scanned[0].text)
    expect(page.get_by_label("E-mailadres")).to_be_visible()

    page.goto(f"{live_server.url}/admin/campagnes/{zorg}")
    page.get_by_role("button", name="Op de voorpagina zetten").click()
    made = "De voorpagina toont nu het aanmeldformulier van Zorg en welzijn."
    expect(page.get_by_text(made)).to_be_visible()
    expect(page.locator(".public-campaign")).to_have_text("Voorpagina: Zorg en welzijn")

    # No public campaign: the front page lists the open ones.
    page.get_by_role("button", name="Niet meer op de voorpagina").click()
    page.goto(live_server.url + "/")
    expect(page.get_by_role("link", name="Aanmelden voor Zorg en welzijn")).to_be_visible()
    expect(page.get_by_role("link", name="Aanmelden voor Najaar 2026")).to_be_visible()
    assert_accessible(page, "front-page-list")
    page.set_viewport_size({"width": 320, "height": 700})
    assert fits(page, 320)
    page.goto(f"{live_server.url}/admin/campagnes/{zorg}")
    assert fits(page, 320)
    context.close()
