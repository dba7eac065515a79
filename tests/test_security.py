"""Security headers on every route of the URL map, the templates the CSP
relies on, HSTS, secure cookies, and key rotation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quiz import create_app as _create_app
from quiz.db import database
from quiz.links import manage_token
from quiz.security import FRAMED_ENDPOINTS
from tests.admin_factories import make_organiser
from tests.answer_factories import make_players, make_quiz
from tests.conftest import at

_APPS: list = []


def create_app(config):
    """create_app, remembering the app so its engine is closed after the test."""
    app = _create_app(config)
    _APPS.append(app)
    return app


@pytest.fixture(autouse=True)
def _dispose_apps():
    yield
    while _APPS:
        database(_APPS.pop()).dispose()


TEMPLATES = Path(__file__).resolve().parent.parent / "quiz" / "templates"


def _rules() -> list[tuple[str, str]]:
    """(endpoint, URL) for every rule, with placeholder values; the dev mailbox included."""
    app = create_app(
        {
            "QUIZ_IGNORE_DOTENV": True,
            "QUIZ_ENV": "testing",
            "QUIZ_DATABASE_URL": "sqlite://",
            "QUIZ_MAIL_BACKEND": "dev",
        }
    )
    adapter = app.url_map.bind("localhost")
    out = []
    for rule in app.url_map.iter_rules():
        values = {
            arg: 1 if "int" in rule.rule.split(arg)[0].rsplit("<", 1)[-1] else "x" for arg in rule.arguments
        }
        out.append((rule.endpoint, adapter.build(rule.endpoint, values)))
    return sorted(out)


RULES = _rules()


@pytest.fixture
def app_config(app_config):
    app_config["QUIZ_MAIL_BACKEND"] = "dev"  # so the dev mailbox's routes exist too
    return app_config


@pytest.mark.parametrize(("endpoint", "path"), RULES, ids=[endpoint for endpoint, _ in RULES])
@pytest.mark.parametrize("who", ["visitor", "organiser"])
def test_security_headers_on_every_route(request, client, endpoint, path, who):
    if who == "organiser":
        request.getfixturevalue("admin")
    response = client.get(path)
    assert response.status_code < 500
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in headers  # plain http here
    if endpoint in FRAMED_ENDPOINTS:
        assert "frame-ancestors 'self'" in csp and "sandbox" in csp and "script-src" not in csp
        assert headers["X-Frame-Options"] == "SAMEORIGIN"
    else:
        assert "frame-ancestors 'none'" in csp and headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp


def test_error_pages_and_429s_carry_the_headers_too(client):
    response = client.get("/bestaat-niet")
    assert (
        response.status_code == 404
        and "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    )


def test_no_inline_script_handler_or_style_in_any_template():
    """The CSP forbids them; a template that used one would silently break."""
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline <script> in {template}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"on…= handler in {template}"
        assert not re.search(r"\sstyle\s*=", text), f"style attribute in {template}"
        assert "javascript:" not in text, f"javascript: URL in {template}"


def test_hsts_and_secure_cookie_over_https(app_config, session):
    app = create_app({**app_config, "QUIZ_BASE_URL": "https://meldcodequiz.test"})
    client = app.test_client()
    make_organiser(session)
    page = client.get("/admin/inloggen", base_url="https://meldcodequiz.test")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_link_signed_before_a_key_rotation_still_works(app_config, session):
    campaign, _ = make_quiz(session, at("2026-11-16 07:30"))
    (player,) = make_players(session, campaign, at("2026-11-16 07:30"), 1)
    old = create_app({**app_config, "QUIZ_SECRET_KEY": "the-old-key"})
    with old.app_context():
        path = f"/mijn-quiz/{manage_token(player.id)}"

    import time_machine

    rotated = create_app(
        {**app_config, "QUIZ_SECRET_KEY": "the-new-key", "QUIZ_SECRET_KEY_FALLBACKS": ["the-old-key"]}
    )
    forgotten = create_app({**app_config, "QUIZ_SECRET_KEY": "the-new-key"})
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        assert rotated.test_client().get(path).status_code == 200
        assert forgotten.test_client().get(path).status_code == 400
        # New links are signed with the new key.
        with rotated.app_context():
            new_path = f"/mijn-quiz/{manage_token(player.id)}"
        assert new_path != path and forgotten.test_client().get(new_path).status_code == 200


def test_secret_key_is_required_outside_development(app_config):
    from quiz.config import ConfigError

    with pytest.raises(ConfigError, match="QUIZ_SECRET_KEY is not set"):
        create_app({**app_config, "QUIZ_ENV": "production", "QUIZ_SECRET_KEY": None})
