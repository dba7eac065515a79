"""The dev mailbox in a real browser: a click on a button inside an email's
HTML preview opens the page (issue 19, item 9). Before, the link loaded our
page inside the preview's frame, which our pages refuse (frame-ancestors
'none'), and Chromium showed its error page there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from quiz.db import session_scope, utcnow
from tests.factories import make_campaign
from tests.test_browser_signup import sign_up

pytestmark = pytest.mark.browser


def test_a_button_in_the_html_preview_opens_its_page(live_server, phone):
    with session_scope(live_server.app) as s:
        make_campaign(s, utcnow(), name="MeldcodeQuiz 2026")
    page = phone
    page.goto(live_server.url + "/")
    sign_up(page, "sanne@example.org", "Kinderdagverblijf Het Vlindertje", "kinderopvang")
    live_server.send_outbox()

    page.goto(live_server.url + "/dev/mailbox/")
    page.get_by_role("link", name="Bevestig je aanmelding voor de MeldcodeQuiz").click()
    preview = page.frame_locator("iframe.mail-html")
    preview.get_by_role("link", name="Aanmelding bevestigen").click()

    # The confirm page in the whole window, working: not an error inside the frame.
    expect(page.get_by_role("heading", name="Bevestig je aanmelding")).to_be_visible()
    assert "/bevestig/" in page.url
    page.get_by_role("button", name="Ja, ik doe mee").click()
    expect(page.get_by_role("heading", name="Je doet mee!")).to_be_visible()
