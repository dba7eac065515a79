"""Access to the organisers' pages: every /admin route needs a login, a
participant's token opens none of them; login, rate limits, idle
timeout, logout and the session cookie."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from quiz import create_app
from quiz.admin import organisers
from quiz.admin.organisers import IDLE_TIMEOUT
from quiz.db import database, utcnow
from quiz.links import answer_token, manage_token
from quiz.models import Organiser
from tests.admin_factories import EMAIL, PASSWORD, AdminClient, campaign_with_set, flashes, make_organiser
from tests.factories import make_participant

LOGIN = "/admin/inloggen"
# Wrong passwords per account and client address, and the window they count in.
WRONG_PASSWORDS = 5
WRONG_PASSWORDS_WINDOW = timedelta(minutes=15)


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


def test_repeated_failures_stop_that_address_for_that_account_then_it_opens_again(admin, session):
    make_organiser(session)
    start = utcnow()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(WRONG_PASSWORDS):
            assert admin.login(password="niet-het-goede-wachtwoord").status_code == 401
        stopped = admin.login()
        assert stopped.status_code == 429  # the right password does not help now
        assert "Even wachten" in stopped.text
        traveller.move_to(start + WRONG_PASSWORDS_WINDOW + timedelta(seconds=1))
        assert admin.login().status_code == 302


def _seen(response) -> tuple[int, str]:
    """Status and the text a person sees, without the address typed in (an
    input's value, like the CSRF token, is inside a tag)."""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", response.text)).strip()
    return response.status_code, text


def test_known_and_unknown_accounts_get_the_same_answers_at_the_same_cost(app, session, monkeypatch):
    """Same status and text, attempt after attempt, and the same password
    check (one scrypt verification with the same cost parameters, or none
    once stopped): the answer and its timing do not tell which accounts exist."""
    make_organiser(session)
    checks: list[str] = []

    def check_password_hash(pwhash: str, password: str) -> bool:
        checks.append(pwhash.split("$", 1)[0])  # method and cost, e.g. scrypt:32768:8:1
        return real_check(pwhash, password)

    real_check = organisers.check_password_hash
    monkeypatch.setattr(organisers, "check_password_hash", check_password_hash)
    known, unknown = AdminClient(app.test_client()), AdminClient(app.test_client())
    known.client.environ_base["REMOTE_ADDR"] = "198.51.100.1"
    unknown.client.environ_base["REMOTE_ADDR"] = "198.51.100.2"
    for attempt in range(WRONG_PASSWORDS + 2):
        del checks[:]
        seen_known = _seen(known.login(password="niet-het-goede-wachtwoord"))
        checks_known = list(checks)
        del checks[:]
        seen_unknown = _seen(unknown.login(email="niemand@example.org", password="niet-het-goede-wachtwoord"))
        assert seen_known == seen_unknown, attempt
        assert checks_known == checks, attempt
        assert seen_known[0] == (401 if attempt < WRONG_PASSWORDS else 429)
        assert len(checks) == (1 if attempt < WRONG_PASSWORDS else 0)


def test_the_organiser_still_logs_in_from_her_own_address_after_wrong_passwords_elsewhere(app, session):
    make_organiser(session)
    guesser = AdminClient(app.test_client())
    guesser.client.environ_base["REMOTE_ADDR"] = "203.0.113.66"
    for _ in range(WRONG_PASSWORDS):
        assert guesser.login(password="niet-het-goede-wachtwoord").status_code == 401
    assert guesser.login().status_code == 429
    organiser = AdminClient(app.test_client())
    organiser.client.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert organiser.login().status_code == 302
    assert organiser.get("/admin/campagnes").status_code == 200


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


def test_a_session_cookie_replayed_after_logout_opens_nothing(admin, session):
    make_organiser(session)
    admin.login()
    stolen = admin.client.get_cookie("session").value
    assert admin.post("/admin/uitloggen").status_code == 302
    admin.client.set_cookie("session", stolen)
    response = admin.get("/admin/campagnes")
    assert response.status_code == 302 and response.headers["Location"].startswith(LOGIN)


def test_logout_ends_every_session_of_that_organiser_only(app, session):
    make_organiser(session)
    make_organiser(session, email="collega@example.org")
    laptop, phone, colleague = (AdminClient(app.test_client()) for _ in range(3))
    for client in (laptop, phone):
        assert client.login().status_code == 302
    assert colleague.login(email="collega@example.org").status_code == 302
    laptop.post("/admin/uitloggen")
    assert phone.get("/admin/campagnes").status_code == 302
    assert colleague.get("/admin/campagnes").status_code == 200
    assert phone.login().status_code == 302  # logging in again works
    assert phone.get("/admin/campagnes").status_code == 200


def test_a_password_change_ends_the_organisers_sessions(app, session, runner):
    make_organiser(session)
    make_organiser(session, email="collega@example.org")
    mine, colleague = AdminClient(app.test_client()), AdminClient(app.test_client())
    mine.login()
    colleague.login(email="collega@example.org")
    new_password = "een-heel-nieuw-wachtwoord"
    result = runner.invoke(
        args=["quiz", "organiser", "password", EMAIL, "--password-stdin"], input=new_password + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "open sessions ended" in result.output
    assert mine.get("/admin/campagnes").status_code == 302
    assert colleague.get("/admin/campagnes").status_code == 200
    assert mine.login().status_code == 401  # the old password no longer works
    assert mine.login(password=new_password).status_code == 302


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
