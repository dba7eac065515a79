"""Property-based fuzzing of the signup form and the token endpoints.

Thousands of generated bodies, headers and paths: never a 500, and every
row the signup stored is valid. CSRF and rate limits are off here so the
generated input reaches the handlers instead of bouncing off the guards
(both have tests of their own).
"""

from __future__ import annotations

import string

import pytest
from email_validator import validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from quiz.models import SECTORS, Answer, Delivery, Participant
from tests.answer_factories import links, make_players, make_quiz, send_question
from tests.conftest import at

EXAMPLES = 1500
ALLOWED = {200, 303, 400, 404, 405, 410, 413, 422}
FIELDS = ["email", "name", "organisation", "sector", "role", "consent", "website", "csrf_token", "x"]
TOKEN_ROUTES = ["a", "bevestig", "welkom", "mijn-quiz", "afmelden", "voorbeeld"]

fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(
        [
            "jan@example.org",
            "JAN@EXAMPLE.ORG",
            "a@b",
            "x\r\nBcc: evil@example.com",
            "<script>alert(1)</script>",
            "{{ 7*7 }}",
            "\x00",
            "onderwijs",
            "y",
            "é" * 200,
            "x" * 5000,
        ]
    ),
)
local_parts = st.text(string.ascii_letters + ".+-_", min_size=1, max_size=20)
domains = st.text(string.ascii_lowercase, min_size=1, max_size=10)
emails = st.one_of(
    texts, st.emails().map(str), st.builds(lambda local, dom: f"{local}@{dom}.nl", local_parts, domains)
)
bodies = st.fixed_dictionaries(
    {"email": emails},
    optional={
        "name": texts,
        "organisation": texts,
        "sector": st.one_of(st.sampled_from(list(SECTORS)), texts),
        "role": texts,
        "consent": st.sampled_from(["y", "", "on", "0"]),
        "website": st.sampled_from(["", "", "", "http://spam.example"]),
        "x": texts,
    },
)
headers = st.dictionaries(
    st.sampled_from(
        ["User-Agent", "Referer", "Accept-Language", "X-Forwarded-For", "Content-Language", "Cookie"]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
    max_size=4,
)


@pytest.fixture
def app_config(app_config):
    app_config.update({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "PROPAGATE_EXCEPTIONS": False})
    return app_config


@pytest.fixture
def quiz(app, session, smtp):
    campaign, qs = make_quiz(session, at("2026-11-16 07:30"))
    (player,) = make_players(session, campaign, at("2026-11-16 07:30"), 1)
    send_question(app, session, player, qs.questions[0], at("2026-11-16 07:30"))
    return {"campaign": campaign, "tokens": [path.rsplit("/", 1)[-1] for path in links(smtp.messages[0])]}


def assert_valid_participants(session) -> None:
    """Every stored signup is one a person could have made through the form."""
    session.expire_all()
    for p in session.scalars(select(Participant).where(Participant.status == "pending")):
        assert p.email == validate_email(p.email, check_deliverability=False).normalized
        assert p.sector in SECTORS
        assert p.organisation and len(p.organisation) <= 150
        for value in (p.name, p.organisation, p.role):
            # one line, whitespace collapsed, within the form's limits
            assert value is None or (value == " ".join(value.split()) and 0 < len(value) <= 150)
        assert p.consent_at is not None
        confirms = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.participant_id == p.id, Delivery.kind == "confirm")
        )
        assert confirms == 1


@fuzz
@given(body=bodies, extra_headers=headers, path=st.sampled_from(["/", "/c/test", "/c/bestaat-niet"]))
def test_signup_never_fails_and_stores_only_valid_rows(client, session, quiz, body, extra_headers, path):
    response = client.post(path, data=body, headers=extra_headers)
    assert response.status_code in ALLOWED, (response.status_code, body)
    if response.status_code == 303:
        assert response.headers["Location"] == "/aangemeld"
    assert_valid_participants(session)


def _mutate(token: str, data: st.DataObject) -> str:
    how = data.draw(st.sampled_from(["flip", "cut", "extend", "swap_parts", "random", "keep"]))
    if how == "flip" and token:
        i = data.draw(st.integers(0, len(token) - 1))
        return token[:i] + data.draw(st.sampled_from("AaZz09-_.%~")) + token[i + 1 :]
    if how == "cut":
        return token[: data.draw(st.integers(0, len(token)))]
    if how == "extend":
        return token + data.draw(st.text(max_size=20))
    if how == "swap_parts":
        return ".".join(reversed(token.split(".")))
    if how == "random":
        return data.draw(st.text(min_size=1, max_size=120))
    return token


@fuzz
@given(
    data=st.data(),
    route=st.sampled_from(TOKEN_ROUTES),
    suffix=st.sampled_from(["", "/gegevens", "/gegevens.json", "/wissen", "/vraag/1", "/vraag/99999999999"]),
    method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]),
    form=st.dictionaries(
        st.sampled_from(["option", "hit", "bevestig", "List-Unsubscribe", "x"]), texts, max_size=3
    ),
    extra_headers=headers,
)
def test_token_endpoints_never_fail(client, session, quiz, data, route, suffix, method, form, extra_headers):
    from urllib.parse import quote

    token = _mutate(data.draw(st.sampled_from(quiz["tokens"])), data)
    path = f"/{route}/{quote(token, safe='')}{suffix if route == 'mijn-quiz' else ''}"
    response = client.open(path, method=method, data=form or None, headers=extra_headers)
    assert response.status_code in ALLOWED | {308}, (response.status_code, path)
    assert_valid_answers_and_statuses(session)


def assert_valid_answers_and_statuses(session) -> None:
    """Answers point at an option of their own question; an erased
    participant has no personal data; GET/HEAD never recorded an answer."""
    session.expire_all()
    for answer in session.scalars(select(Answer)):
        assert answer.option.question_id == answer.question_id
        assert answer.source == "confirmed"
    for p in session.scalars(select(Participant)):
        if p.status == "erased":
            assert (p.email, p.name, p.organisation) == (None, None, None)
