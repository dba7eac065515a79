"""An organiser's session in a real browser: log in → fix a question →
preview it → read the dashboard, with an axe-core check (WCAG 2.1 A/AA) on
every page on the way, and the pages still usable at 375 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from quiz.db import session_scope, utcnow
from tests.admin_factories import EMAIL, PASSWORD, answer, campaign_with_set, make_organiser
from tests.factories import make_participant

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def assert_accessible(page, name: str) -> None:
    """No WCAG 2.1 A/AA violations that axe-core can find; a screenshot for people."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make test` (it runs `npm ci` in tests/js)")
    # axe-core comes in as the context's init script (see `desktop`): the
    # pages' CSP forbids inline scripts, add_script_tag would be refused.
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    assert problems == [], f"{name}: " + "\n".join(problems)


def fits(page, width: int = 375) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    if AXE.is_file():
        context.add_init_script(path=str(AXE))
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def campaign(live_server):
    with session_scope(live_server.app) as s:
        make_organiser(s)
        campaign, qs = campaign_with_set(s, name="Week tegen Kindermishandeling")
        for i in range(12):
            person = make_participant(s, campaign, utcnow(), email=f"p{i}@example.org")
            answer(s, person, qs, 1, qs.questions[0].options[i % 3].label, discussed=i % 2 == 0)
        return campaign.id, qs.id, qs.title, qs.questions[1].title


def test_login_edit_preview_dashboard(live_server, desktop, campaign):
    campaign_id, set_id, set_title, title = campaign
    page = desktop
    page.goto(live_server.url + "/admin/")
    expect(page.get_by_role("heading", name="Inloggen voor organisatoren")).to_be_visible()
    assert_accessible(page, "login")

    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_label("Wachtwoord").fill("niet-het-goede-wachtwoord")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("alert")).to_contain_text("Het e-mailadres of het wachtwoord klopt niet.")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Campagnes")).to_be_visible()
    assert_accessible(page, "campaigns")

    # Fix a question: first a mistake, shown next to the field, then the fix.
    page.get_by_role("link", name="Vragensets").click()
    page.get_by_role("link", name=set_title).click()
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name="Vraag 2 bewerken")).to_be_visible()
    page.get_by_label("Titel", exact=True).fill("")
    page.get_by_role("button", name="Opslaan").first.click()
    expect(page.locator("#title-error")).to_have_text("'Titel' is leeg")
    expect(page.get_by_label("Titel", exact=True)).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "editor-with-error")
    page.get_by_label("Titel", exact=True).fill("Wie mag je om advies vragen?")
    page.get_by_role("button", name="Opslaan").first.click()
    expect(page.get_by_text("Opgeslagen.")).to_be_visible()

    # The preview: the email in a frame, and the confirm page in a new tab.
    page.get_by_role("link", name="Bekijk het voorbeeld van deze vraag").click()
    expect(page.get_by_role("heading", name="Voorbeeld: vraag 2")).to_be_visible()
    frame = page.frame_locator("iframe.mail-html")
    expect(frame.get_by_text("Wie mag je om advies vragen?").first).to_be_visible()
    assert_accessible(page, "preview")
    with page.expect_popup() as popup:
        page.get_by_role("link", name="Bevestigpagina bij A").click()
    confirm = popup.value
    expect(confirm.get_by_text("Voorbeeld: hier wordt niets opgeslagen.")).to_be_visible()
    confirm.close()

    # The dashboard.
    page.goto(f"{live_server.url}/admin/campagnes/{campaign_id}")
    expect(page.get_by_role("heading", name="Week tegen Kindermishandeling")).to_be_visible()
    expect(page.get_by_role("img", name="Van aanmelding tot de laatste vraag")).to_be_visible()
    assert_accessible(page, "dashboard")
    page.goto(f"{live_server.url}/admin/campagnes/{campaign_id}/kalender")
    assert_accessible(page, "calendar")
    page.goto(f"{live_server.url}/admin/campagnes/{campaign_id}/bewerken")
    assert_accessible(page, "campaign-settings")

    # Desktop first, but nothing breaks on a phone.
    page.set_viewport_size({"width": 375, "height": 740})
    paths = ("/vraag/2", "/vraag/2/voorbeeld")
    for path in (f"/admin/campagnes/{campaign_id}", f"/admin/campagnes/{campaign_id}/kalender"):
        page.goto(live_server.url + path)
        assert fits(page), path
    for path in paths:
        page.goto(f"{live_server.url}/admin/vragensets/{set_id}{path}")
        assert fits(page), path
    page.screenshot(path=str(ARTIFACTS / "admin-dashboard-375.png"), full_page=True)
