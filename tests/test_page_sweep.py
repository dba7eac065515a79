"""Every page and every kind of email, in real Chromium at 320, 375 and 1280 px:
axe-core finds no WCAG 2.1 A/AA violation, and on a phone nothing scrolls
sideways (the document is no wider than the screen). Issue 19, items 3, 8 and 11.

Which pages exist, the URL map says: `test_every_page_has_a_case` fails on a
GET route with no case in CASES and not in NOT_PAGES, naming it. To cover a new
page, add one line to CASES: `Case("blueprint.endpoint", "name", lambda w: "/path")`
(`w` is the World of tests/sweep_world.py: tokens, ids, fresh participants).

One app server and one browser serve the whole sweep; each width has two
browser contexts, a visitor's and a logged-in organiser's. Emails are shown as
a mail program shows them: the HTML part of the message the real sender put
in the dev mailbox, as a document of its own.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quiz import create_app
from quiz.db import database
from tests.admin_factories import EMAIL, PASSWORD
from tests.conftest import PG_URL, _base_config, _truncate_pg, free_port
from tests.sweep_world import EMAILS, World, build

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = (320, 375, 1280)
PHONES = (320, 375)
MAIL_ORIGIN = "http://mail.test"


@dataclass(frozen=True)
class Case:
    """One page to sweep: the route's endpoint, a name, its path, and for a
    page that a form leads to, what the visitor does on the path's page."""

    endpoint: str | None  # None: not a route of its own (an error page, an email)
    name: str
    path: Callable[[World], str]
    then: Callable[[Any], None] | None = None
    shows: str | None = None  # after `then`: a selector that proves the form led here
    organiser: bool = False
    status: int = 200


def press(name: str, tick: str | None = None) -> Callable[[Any], None]:
    """Press the button `name` (ticking the box labelled `tick` first) and wait for the next page."""

    def act(page: Any) -> None:
        if tick:
            page.get_by_label(tick).check()
        with page.expect_navigation():
            page.get_by_role("button", name=name).click()

    return act


def admin(endpoint: str, name: str, path: Callable[[World], str], **kw: Any) -> Case:
    return Case(endpoint, name, path, organiser=True, **kw)


def _set(w: World) -> str:
    return f"/admin/vragensets/{w.set_id}"


def _campaign(w: World) -> str:
    return f"/admin/campagnes/{w.campaign_id}"


CASES: tuple[Case, ...] = (
    # --- public ---
    Case("signup.form", "signup", lambda w: "/"),
    Case("signup.form", "signup-errors", lambda w: "/", then=press("Aanmelden"), shows=".error-summary"),
    Case("signup.campaign_form", "signup-campaign", lambda w: f"/c/{w.slug}"),
    Case("signup.campaign_form", "signup-closed", lambda w: f"/c/{w.closed_slug}"),
    Case("signup.campaign_form", "signup-no-campaign", lambda w: "/c/bestaat-niet", status=404),
    Case("signup.check_email", "check-email", lambda w: "/aangemeld"),
    Case("signup.privacy", "privacy", lambda w: "/privacy"),
    Case("signup.confirm", "confirm", lambda w: f"/bevestig/{w.confirm('nieuw')}"),
    Case("signup.welcome", "welcome", lambda w: f"/bevestig/{w.confirm('fresh-pending')}",
         then=press("Ja, ik doe mee"), shows="h1:has-text('Je doet mee!')"),  # fmt: skip
    Case(None, "not-found", lambda w: "/bestaat-niet", status=404),
    Case(None, "bad-link", lambda w: "/a/geen-geldige-link", status=400),
    Case("site.colofon", "colofon", lambda w: "/colofon"),
    Case("site.accessibility", "accessibility", lambda w: "/toegankelijkheid"),
    Case("certificate.check", "certificate-check", lambda w: "/deelnamebewijs/controleren"),
    Case("certificate.check", "certificate-check-bad", lambda w: "/deelnamebewijs/controleren?code=!!",
         status=400),  # fmt: skip
    Case("bespreekkaart.newest", "bespreekkaart", lambda w: f"/bespreekkaart/{w.set_slug}"),
    Case("bespreekkaart.card", "bespreekkaart-version",
         lambda w: f"/bespreekkaart/{w.set_slug}/{w.set_version}"),
    # --- participant (token pages) ---
    Case("answers.answer", "answer", lambda w: f"/a/{w.answer_token('karin', 1, 0)}"),
    Case("answers.answer", "feedback", lambda w: f"/a/{w.answer_token('sanne', 1)}"),
    Case("answers.answer", "feedback-just-answered", lambda w: f"/a/{w.answer_token('fresh', 2, 0)}",
         then=press("Bevestig mijn antwoord"), shows="h1.result"),  # fmt: skip
    Case("answers.preview", "preview", lambda w: f"/voorbeeld/{w.preview(1, 1)}"),
    Case("discussed.discussed", "discussed", lambda w: f"/besproken/{w.discussed('sanne', 1)}"),
    Case("answers.preview", "preview-feedback", lambda w: f"/voorbeeld/{w.preview(1, 1)}",
         then=press("Bevestig mijn antwoord"), shows="h1.result"),
    Case("discussed.discussed", "discussed-recorded",
         lambda w: f"/besproken/{w.discussed('fresh-answered', 2)}",
         then=press("Besproken in ons team"), shows="h1:has-text('Bedankt!')"),
    Case("account.my_quiz", "my-quiz", lambda w: f"/mijn-quiz/{w.manage()}"),
    Case("account.feedback", "my-quiz-feedback", lambda w: f"/mijn-quiz/{w.manage()}/antwoord/1"),
    Case("certificate.page", "certificate-not-yet", lambda w: f"/mijn-quiz/{w.manage()}/deelnamebewijs",
         status=404),  # fmt: skip
    Case("repeats.answer", "repeat", lambda w: f"/h/{w.repeat('sanne', 2, 0)}"),
    Case("repeats.answer", "repeat-feedback", lambda w: f"/h/{w.repeat('piet', 2)}"),
    Case("repeats.stop", "repeats-stop", lambda w: f"/herhaalvragen-stoppen/{w.stop_repeats('sanne')}"),
    Case("account.open_question", "my-quiz-open-question",
         lambda w: f"/mijn-quiz/{w.manage('karin')}/vraag/1"),
    Case("mydata.overview", "my-data", lambda w: f"/mijn-quiz/{w.manage()}/gegevens"),
    Case("mydata.erase", "erase", lambda w: f"/mijn-quiz/{w.manage()}/wissen"),
    Case("mydata.erase", "erased", lambda w: f"/mijn-quiz/{w.manage('fresh')}/wissen",
         then=press("Wis mijn gegevens", tick="Ja"), shows="h1:has-text('gewist')"),  # fmt: skip
    Case("unsubscribe.unsubscribe", "unsubscribe", lambda w: f"/afmelden/{w.unsubscribe('sanne')}"),
    Case("unsubscribe.unsubscribe", "unsubscribed", lambda w: f"/afmelden/{w.unsubscribe('fresh')}",
         then=press("Meld mij af"), shows="h1:has-text('Je bent afgemeld')"),  # fmt: skip
    # --- dev mailbox ---
    Case("devmail.index", "dev-mailbox", lambda w: "/dev/mailbox/"),
    Case("devmail.show", "dev-mailbox-message", lambda w: f"/dev/mailbox/{w.mailbox_keys[0]}"),
    # --- organisers ---
    Case("admin.login", "admin-login", lambda w: "/admin/inloggen"),
    Case("admin.login", "admin-login-errors", lambda w: "/admin/inloggen",
         then=press("Inloggen"), shows=".error"),
    admin("admin.index", "admin-index", lambda w: "/admin/"),
    admin("admin.campaigns", "admin-campaigns", lambda w: "/admin/campagnes"),
    admin("admin.campaign_new", "admin-campaign-new", lambda w: "/admin/campagnes/nieuw"),
    admin("admin.campaign_new", "admin-campaign-errors", lambda w: "/admin/campagnes/nieuw",
          then=press("Opslaan"), shows=".error-summary"),  # fmt: skip
    admin("admin.campaign_dashboard", "admin-dashboard", _campaign),
    admin("admin.campaign_edit", "admin-campaign-edit", lambda w: f"{_campaign(w)}/bewerken"),
    admin("admin.campaign_calendar", "admin-calendar", lambda w: f"{_campaign(w)}/kalender"),
    admin("admin.campaign_organisations", "admin-organisations", lambda w: f"{_campaign(w)}/organisaties"),
    admin("admin.questionsets", "admin-questionsets", lambda w: "/admin/vragensets"),
    admin("admin.questionset_new", "admin-questionset-new", lambda w: "/admin/vragensets/nieuw"),
    admin("admin.questionset_import", "admin-questionset-import", lambda w: "/admin/vragensets/importeren"),
    admin("admin.questionset", "admin-questionset", _set),
    admin("admin.questionset_settings", "admin-questionset-settings", lambda w: f"{_set(w)}/instellingen"),
    admin("admin.question_edit", "admin-question-edit", lambda w: f"{_set(w)}/vraag/1"),
    admin("admin.question_new", "admin-question-new", lambda w: f"{_set(w)}/vraag/nieuw"),
    admin("admin.question_delete", "admin-question-delete", lambda w: f"{_set(w)}/vraag/5/verwijderen"),
    admin("admin.question_preview", "admin-question-preview", lambda w: f"{_set(w)}/vraag/1/voorbeeld"),
    admin("admin.item_analysis_page", "admin-item-analysis", lambda w: f"{_set(w)}/itemanalyse"),
    admin("admin.question_preview_html", "admin-question-preview-email",
          lambda w: f"{_set(w)}/vraag/1/voorbeeld/email.html"),
    # --- emails: the HTML part, as a mail program shows it ---
    *(Case(None, f"email-{name}", lambda w, name=name: f"{MAIL_ORIGIN}/{name}") for name, _, _ in EMAILS),
)  # fmt: skip

# The HTML of an email, which our own pages show in a sandboxed frame.
FRAMED = {"admin.question_preview_html", "devmail.html"}

# GET routes that are no page for people to read, and why.
NOT_PAGES = {
    "static": "stylesheets and scripts",
    "health.healthz": "a health check for machines",
    "health.readyz": "a health check for machines",
    "bespreekkaart.pdf": "a PDF download",
    "certificate.pdf": "a PDF download",
    "admin.campaign_qr": "an SVG download (the campaign page shows the same QR code)",
    "site.favicon": "an icon file",
    "site.logo": "an image file",
    "mydata.export_json": "a JSON download",
    "admin.export_answers": "a CSV download",
    "admin.export_participants": "a CSV download",
    "admin.questionset_export": "a TOML download",
    "devmail.html": "the HTML part of an email: the email cases show each kind",
}


def _server_config(db_url: str, tmp: Path, smtp_port: int, port: int) -> dict[str, Any]:
    return {
        **_base_config(db_url, tmp, smtp_port),
        "QUIZ_MAIL_BACKEND": "dev",
        "QUIZ_BASE_URL": f"http://127.0.0.1:{port}",
        "TESTING": False,  # as deployed: real error pages, CSRF on
    }


def test_every_page_has_a_case(tmp_path, smtp_server) -> None:
    """A GET route without a case fails here, by name, until one is added."""
    app = create_app(_server_config("sqlite://", tmp_path, smtp_server.port, 5000))
    routes = {r.endpoint: r.rule for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}
    covered = {c.endpoint for c in CASES if c.endpoint}
    uncovered = sorted(f"{rule} ({endpoint})" for endpoint, rule in routes.items()
                       if endpoint not in covered and endpoint not in NOT_PAGES)  # fmt: skip
    assert uncovered == [], "GET routes the page sweep does not visit; add a Case to CASES: " + ", ".join(
        uncovered
    )
    gone = sorted((covered | set(NOT_PAGES)) - set(routes))
    assert gone == [], f"cases for routes that no longer exist: {gone}"


# --- the server, the world and the browser contexts, once for the module --------


@pytest.fixture(scope="module")
def sweep_server(tmp_path_factory, smtp_server, migrated_sqlite, migrated_pg) -> Iterator[World]:
    from werkzeug.serving import make_server

    tmp = tmp_path_factory.mktemp("sweep")
    if migrated_pg:
        db_url = migrated_pg
    else:
        shutil.copy(migrated_sqlite, tmp / "quiz.sqlite3")
        db_url = f"sqlite:///{tmp / 'quiz.sqlite3'}"
    port = free_port()
    app = create_app(_server_config(db_url, tmp, smtp_server.port, port))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        world = build(app)
        world.url = f"http://127.0.0.1:{port}"
        yield world
    finally:
        server.shutdown()
        thread.join(timeout=5)
        if PG_URL:
            _truncate_pg(app)
        database(app).dispose()


@pytest.fixture(scope="module")
def contexts(browser, sweep_server) -> Iterator[dict[tuple[int, bool], Any]]:
    """(width, organiser) -> a browser context with axe-core loaded in every page."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make test` (it runs `npm ci` in tests/js)")
    made = {}
    for width in WIDTHS:
        for organiser in (False, True):
            phone = width in PHONES
            context = browser.new_context(
                viewport={"width": width, "height": 800 if phone else 900},
                device_scale_factor=2 if phone else 1,
                is_mobile=phone,
                has_touch=phone,
                locale="nl-NL",
            )
            context.add_init_script(path=str(AXE))
            context.route(f"{MAIL_ORIGIN}/**", _email_server(sweep_server))
            if organiser:
                _log_in(context, sweep_server.url)
            made[(width, organiser)] = context
    yield made
    for context in made.values():
        context.close()


def _email_server(world: World) -> Callable[[Any], None]:
    def serve(route: Any) -> None:
        name = route.request.url.removeprefix(f"{MAIL_ORIGIN}/")
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=world.emails[name])

    return serve


def _unsandboxed(route: Any) -> None:
    """An email's HTML that our pages frame comes with a sandbox CSP, which
    stops all script, axe-core too; shown here as a mail program shows it."""
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"}
    route.fulfill(response=response, headers=headers)


def _log_in(context: Any, url: str) -> None:
    page = context.new_page()
    page.goto(url + "/admin/inloggen")
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Inloggen").click()
    assert "/admin/inloggen" not in page.url, "the organiser could not log in"
    page.close()


# --- the sweep ------------------------------------------------------------------

# Elements that reach past the right edge of the screen, for the failure message.
_TOO_WIDE = """(width) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width + 0.5)
  .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= width + 0.5)
  .slice(0, 5)
  .map(e => `<${e.tagName.toLowerCase()}${e.className ? ' class=' + e.className : ''}> ends at `
            + `${Math.round(e.getBoundingClientRect().right)} px: ${e.textContent.trim().slice(0, 60)}`)"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_page_fits_and_passes_axe(case: Case, width: int, contexts, sweep_server: World) -> None:
    world = sweep_server
    page = contexts[(width, case.organiser)].new_page()
    page.set_default_timeout(10_000)  # a missing button fails in seconds, not half a minute
    try:
        with world.app.app_context():  # links are signed with the app's key
            path = case.path(world)
        url = path if path.startswith("http") else world.url + path
        if case.endpoint in FRAMED:
            page.route(url, _unsandboxed)
        response = page.goto(url)
        if case.then:
            case.then(page)
            assert case.shows and page.locator(case.shows).count(), f"{case.name}: not the page it should be"
        else:
            assert response is not None and response.status == case.status, (
                f"{case.name}: HTTP {response.status if response else None} at {page.url}"
            )
        if case.organiser:
            assert "/admin/inloggen" not in page.url, f"{case.name}: not logged in"

        problems = []
        result = page.evaluate(
            # Only violations: axe skips collecting what passed, a good part of its time.
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})",
            WCAG_21_AA,
        )
        problems += [
            f"axe {v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
        ]
        if width in PHONES:
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > width:
                wide = page.evaluate(_TOO_WIDE, width)
                problems.append(f"{scroll_width} px wide at {width} px: " + "; ".join(wide))
        assert problems == [], f"{case.name} at {width} px:\n" + "\n".join(problems)
    finally:
        page.close()
