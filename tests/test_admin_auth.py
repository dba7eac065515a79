"""Access to the organisers' pages: every /admin route needs a login, a
participant's token opens none of them; login, lockout, rate limit, idle
timeout, logout and the session cookie."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from quiz import create_app
from quiz.db import database, utcnow
from quiz.links import answer_token, manage_token
from quiz.models import Organiser
from quiz.organisers import IDLE_TIMEOUT, LOCKOUT, MAX_FAILED_LOGINS
from tests.admin_factories import EMAIL, PASSWORD, AdminClient, campaign_with_set, flashes, make_organiser
from tests.factories import make_participant

LOGIN = "/admin/inloggen"


def _admin_rules() -> list[tuple[str, str]]:
    """(method, url) for every rule under /admin, with 1 for each id."""
    app = create_app({"QUIZ_IGNORE_DOTENV": True, "QUIZ_ENV": "testing", "QUIZ_DATABASE_URL": "sqlite://"})
    adapter = app.url_map.bind("quiz.test")
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint == "admin.login":
            continue
        url = adapter.build(rule.endpoint, {arg: 1 for arg in rule.arguments})
        out += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


ADMIN_RULES = _admin_rules()


def test_the_access_list_covers_the_whole_admin():
    urls = {url for _, url in ADMIN_RULES}
    assert len(urls) >= 20
    assert {
        "/admin/",
        "/admin/campagnes/1",
        "/admin/campagnes/1/deelnemers.csv",
        "/admin/vragensets/1/test",
    } <= urls


@pytest.fixture
def admin(client):
    return AdminClient(client)


@pytest.mark.parametrize(("method", "url"), ADMIN_RULES)
def test_anonymous_visitors_are_sent_to_the_login(admin, method, url):
    # A valid CSRF token, so that the login check (not CSRF) is what stops the request.
    token = admin.csrf(LOGIN)
    response = admin.client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(LOGIN)


@pytest.fixture
def participant_tokens(app, session):
    campaign, question_set = campaign_with_set(session)
    participant = make_participant(session, campaign, utcnow())
    with app.app_context():
        return [manage_token(participant.id), answer_token(participant.id, question_set.questions[0].id)]


@pytest.mark.parametrize(("method", "url"), [r for r in ADMIN_RULES if r[0] == "GET"])
def test_a_participant_token_never_opens_an_admin_page(app, client, participant_tokens, method, url):
    # The participant's own pages work with these tokens …
    assert client.get(f"/mijn-quiz/{participant_tokens[0]}").status_code == 200
    # … but whether in the address or as a cookie, they open nothing here.
    for token in participant_tokens:
        client.set_cookie("session", token, domain="localhost")
        for attempt in (f"{url}?token={token}", url):
            response = client.get(attempt)
            assert response.status_code == 302, attempt
            assert response.headers["Location"].startswith(LOGIN)


def test_login_shows_a_dutch_form_and_logs_in(admin, session):
    make_organiser(session)
    page = admin.get(LOGIN)
    assert "Inloggen voor organisatoren" in page.text
    assert 'autocomplete="current-password"' in page.text
    response = admin.login()
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert admin.get("/admin/campagnes").status_code == 200
    session.expire_all()
    assert session.get(Organiser, 1).last_login_at is not None


def test_the_session_cookie_is_secure_behind_https(app_config, session):
    make_organiser(session)
    https_app = create_app({**app_config, "QUIZ_BASE_URL": "https://quiz.example"})
    response = AdminClient(https_app.test_client()).login()
    assert "Secure" in response.headers["Set-Cookie"]
    database(https_app).dispose()


def test_login_needs_the_csrf_token(client, session):
    make_organiser(session)
    response = client.post(LOGIN, data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 400
    assert "Het formulier is verlopen" in response.text
    assert client.get("/admin/campagnes").status_code == 302


def test_a_wrong_password_gets_one_dutch_message_for_both_mistakes(admin, session):
    make_organiser(session)
    wrong_password = admin.login(password="niet-het-goede-wachtwoord")
    unknown_address = admin.login(email="iemand@example.org")
    for response in (wrong_password, unknown_address):
        assert response.status_code == 401
        assert "Het e-mailadres of het wachtwoord klopt niet." in response.text


def test_repeated_failures_lock_the_account_then_it_opens_again(admin, session):
    make_organiser(session)
    start = utcnow()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(MAX_FAILED_LOGINS - 1):
            assert admin.login(password="niet-het-goede-wachtwoord").status_code == 401
        locked = admin.login(password="niet-het-goede-wachtwoord")
        assert locked.status_code == 429
        assert "tijdelijk geblokkeerd" in locked.text
        assert admin.login().status_code == 429  # the right password does not help now
        traveller.move_to(start + LOCKOUT + timedelta(seconds=1))
        assert admin.login().status_code == 302


def test_the_login_is_rate_limited_per_address(admin, session):
    make_organiser(session)
    statuses = [admin.login(email=f"poging{i}@example.org").status_code for i in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    assert "Even wachten" in admin.login().text


def test_an_idle_session_ends(admin, session):
    make_organiser(session)
    start = utcnow()
    with time_machine.travel(start, tick=False) as traveller:
        admin.login()
        # Each request moves the idle window along.
        traveller.shift(IDLE_TIMEOUT - timedelta(minutes=1))
        assert admin.get("/admin/campagnes").status_code == 200
        traveller.shift(IDLE_TIMEOUT - timedelta(minutes=1))
        assert admin.get("/admin/campagnes").status_code == 200
        traveller.shift(IDLE_TIMEOUT + timedelta(seconds=1))
        response = admin.get("/admin/campagnes")
        assert response.status_code == 302 and response.headers["Location"].startswith(LOGIN)
        assert "Je was een tijd niet actief" in admin.get(LOGIN).text


def test_logout_ends_the_session(admin, session):
    make_organiser(session)
    admin.login()
    assert admin.get("/admin/uitloggen").status_code == 405  # only a POST logs out
    response = admin.post("/admin/uitloggen")
    assert response.status_code == 302
    assert "Je bent uitgelogd." in flashes(admin.get(LOGIN).text)
    assert admin.get("/admin/campagnes").status_code == 302


def test_disabling_an_organiser_ends_their_open_session(admin, session, runner):
    make_organiser(session)
    admin.login()
    assert admin.get("/admin/campagnes").status_code == 200
    runner.invoke(args=["quiz", "organiser", "disable", EMAIL])
    assert admin.get("/admin/campagnes").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/admin/vragensets", "/admin/vragensets"),
        ("//evil.example/admin/", "/admin/"),
        ("https://evil.example/admin/", "/admin/"),
        ("/dev/mailbox/", "/admin/"),
    ],
)
def test_after_login_only_admin_pages_are_a_destination(admin, session, next_url, lands_on):
    make_organiser(session)
    token = admin.csrf(LOGIN)
    response = admin.client.post(
        LOGIN,
        query_string={"next": next_url},
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == lands_on


def test_admin_pages_are_not_cached(admin, session):
    make_organiser(session)
    admin.login()
    response = admin.get("/admin/campagnes")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
