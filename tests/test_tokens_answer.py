"""Answer and "Mijn quiz" tokens: tampered, foreign, expired or malformed
tokens get a friendly Dutch page with 400/410, never a 500 and never
someone else's data; thousands of mutated tokens, none accepted for
another link."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from quiz.answering.answers import read_answer_link
from quiz.db import database
from quiz.links import TokenExpired, TokenInvalid, answer_token, manage_token, read_answer, sign
from quiz.models import Answer
from tests.answer_factories import make_players, make_question_set, make_quiz
from tests.conftest import at
from tests.factories import make_campaign, make_participant

NOW = at("2026-11-16 09:00")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


@pytest.fixture
def world(app, session):
    campaign, qs = make_quiz(session, NOW)
    [sanne] = make_players(session, campaign, NOW, 1)
    # A second campaign with its own questions and participant.
    other_qs = make_question_set(session, NOW, questions=2, slug="ander")
    other = make_campaign(session, NOW, slug="ander", question_set_id=other_qs.id)
    kees = make_participant(session, other, NOW, email="kees@example.org", name="Kees Geheim")
    q1, q2 = qs.questions[0], qs.questions[1]
    return {
        "sanne": sanne.id,
        "kees": kees.id,
        "q1": q1.id,
        "q1_options": [o.id for o in q1.options],
        "q2_options": [o.id for o in q2.options],
        "other_q": other_qs.questions[0].id,
        "other_option": other_qs.questions[0].options[0].id,
    }


def signed(app, purpose: str, payload, key: str | None = None) -> str:
    with app.app_context():
        if key is None:
            return sign(purpose, payload)
        return URLSafeTimedSerializer(key, salt=f"quiz.{purpose}").dumps(payload)


def valid(app, w) -> str:
    with app.app_context():
        return answer_token(w["sanne"], w["q1"], w["q1_options"][0])


BAD_TOKENS = {
    "flipped payload": lambda app, w: "X" + valid(app, w)[1:],
    "flipped signature": lambda app, w: (
        valid(app, w)[:-3] + ("AAA" if not valid(app, w).endswith("AAA") else "BBB")
    ),
    "truncated": lambda app, w: valid(app, w)[:-5],
    "garbage": lambda app, w: "hallo",
    "dots only": lambda app, w: "...",
    "confirm token": lambda app, w: signed(app, "confirm", w["sanne"]),
    "manage token": lambda app, w: signed(app, "manage", w["sanne"]),
    "other secret key": lambda app, w: signed(
        app, "answer", [w["sanne"], w["q1"], w["q1_options"][0]], "other"
    ),
    "option of another question": lambda app, w: signed(
        app, "answer", [w["sanne"], w["q1"], w["q2_options"][0]]
    ),
    "question of another campaign": lambda app, w: signed(
        app, "answer", [w["sanne"], w["other_q"], w["other_option"]]
    ),
    "participant of another campaign": lambda app, w: signed(
        app, "answer", [w["kees"], w["q1"], w["q1_options"][0]]
    ),
    "unknown question": lambda app, w: signed(app, "answer", [w["sanne"], 99999, 1]),
    "strings": lambda app, w: signed(app, "answer", [str(w["sanne"]), str(w["q1"]), "1"]),
    "booleans": lambda app, w: signed(app, "answer", [True, True, True]),
    "negative": lambda app, w: signed(app, "answer", [-w["sanne"], w["q1"], w["q1_options"][0]]),
    "huge id": lambda app, w: signed(app, "answer", [10**30, w["q1"], w["q1_options"][0]]),
    "too long": lambda app, w: signed(app, "answer", [w["sanne"], w["q1"], w["q1_options"][0], 1]),
    "a dict": lambda app, w: signed(app, "answer", {"p": w["sanne"]}),
    "null": lambda app, w: signed(app, "answer", None),
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_answer_tokens_get_a_friendly_400(app, client, session, world, kind):
    token = BAD_TOKENS[kind](app, world)
    with time_machine.travel(NOW, tick=False):
        for response in (client.get(f"/a/{token}"), client.post(f"/a/{token}", data={"option": "1"})):
            assert response.status_code == 400, kind
            assert "Deze antwoordlink klopt niet" in response.text
            assert "Kees" not in response.text
    assert session.scalar(select(func.count()).select_from(Answer)) == 0


@pytest.mark.parametrize(
    "kind", ["confirm token", "answer token", "other secret key", "garbage", "huge id", "strings"]
)
def test_bad_manage_tokens_get_a_friendly_400(app, client, world, kind):
    token = {
        "confirm token": lambda: signed(app, "confirm", world["sanne"]),
        "answer token": lambda: valid(app, world),
        "other secret key": lambda: signed(app, "manage", world["sanne"], "other"),
        "garbage": lambda: "hallo.daar",
        "huge id": lambda: signed(app, "manage", 10**30),
        "strings": lambda: signed(app, "manage", str(world["sanne"])),
    }[kind]()
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/mijn-quiz/{token}")
    assert response.status_code == 400
    assert "Deze link naar Mijn quiz klopt niet" in response.text


def test_expired_manage_link_is_410(app, client, world):
    with app.app_context():
        token = manage_token(world["sanne"])
    # Answers close 28 November; Mijn quiz stays readable 60 days longer.
    with time_machine.travel(at("2027-01-26 23:59"), tick=False):
        assert client.get(f"/mijn-quiz/{token}").status_code == 200
    with time_machine.travel(at("2027-01-27 00:00"), tick=False):
        response = client.get(f"/mijn-quiz/{token}")
    assert response.status_code == 410
    assert "Deze link naar Mijn quiz werkt niet meer" in response.text


def test_a_participant_without_start_day_has_no_answer_window(app, session, world):
    from quiz.models import Participant

    p = session.get(Participant, world["sanne"])
    p.first_quiz_day = None
    session.commit()
    with app.app_context(), pytest.raises(TokenExpired):
        read_answer_link(session, answer_token(world["sanne"], world["q1"]), NOW)


def test_a_key_rotation_keeps_links_working(app, client, world, app_config):
    token = valid(app, world)
    from quiz import create_app

    rotated = create_app(
        {**app_config, "QUIZ_SECRET_KEY": "new-key", "QUIZ_SECRET_KEY_FALLBACKS": ["test-secret"]}
    )
    try:
        with time_machine.travel(NOW, tick=False):
            assert rotated.test_client().get(f"/a/{token}").status_code == 200
    finally:
        database(rotated).dispose()


# --- property-based: mutated tokens -----------------------------------------------------


def mutate(token: str, data: st.DataObject) -> str:
    op = data.draw(st.sampled_from(["replace", "delete", "insert", "swap", "truncate", "repeat"]))
    i = data.draw(st.integers(0, len(token) - 1))
    c = data.draw(st.sampled_from(ALPHABET))
    if op == "replace":
        return token[:i] + c + token[i + 1 :]
    if op == "delete":
        return token[:i] + token[i + 1 :]
    if op == "insert":
        return token[:i] + c + token[i:]
    if op == "swap":
        j = data.draw(st.integers(0, len(token) - 1))
        chars = list(token)
        chars[i], chars[j] = chars[j], chars[i]
        return "".join(chars)
    if op == "truncate":
        return token[:i]
    return token + token[i:]


def same_link(app, token: str, mutated: str) -> bool:
    """Whether `mutated` still reads as `token`'s link. base64 leaves two bits
    of the signature's last character unused, so itsdangerous reads four
    spellings of every token (the last character differing only in those
    bits) as the same signature: the same link, never another one."""
    with app.app_context():
        try:
            return read_answer(mutated, NOW) == read_answer(token, NOW)
        except (TokenInvalid, TokenExpired):
            return False


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_mutated_token_is_accepted_for_another_link(app, session, world, data):
    token = valid(app, world)
    mutated = mutate(token, data)
    if mutated == token:
        return
    if same_link(app, token, mutated):
        assert mutated[:-1] == token[:-1]  # only the last character's unused bits differ
        return
    with app.app_context(), pytest.raises((TokenInvalid, TokenExpired)):
        read_answer_link(session, mutated, NOW)


_ADDRESSES = itertools.count(1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_tokens_over_http_are_400_never_500(app, client, session, world, data):
    token = valid(app, world)
    mutated = mutate(token, data)
    if mutated == token or not mutated.strip(".") or same_link(app, token, mutated):
        return
    # Each from its own address: bad tokens per address are rate-limited
    # (tests/test_limits.py), and this test is about the token checks.
    n = next(_ADDRESSES)
    address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            f"/a/{mutated}",
            data={"option": str(world["q1_options"][0])},
            environ_overrides={"REMOTE_ADDR": address},
        )
    assert response.status_code in (400, 404, 410)  # 404: a mutation that leaves no token in the path
    assert session.scalar(select(func.count()).select_from(Answer)) == 0


def test_the_unmutated_token_is_accepted(app, session, world):
    """The property above would hold for a reader that rejects everything."""
    with app.app_context():
        link = read_answer_link(session, valid(app, world), NOW)
    assert (link.participant.id, link.question.id, link.option_id) == (
        world["sanne"],
        world["q1"],
        world["q1_options"][0],
    )
    assert link.participant.first_quiz_day == date(2026, 11, 16)


def test_other_spellings_of_a_valid_token_name_the_same_link(app, session, world):
    """The only mutations itsdangerous accepts: the signature's last character
    with other values in its unused bits. They open the same link (random
    mutation hits them only rarely, hence this test)."""
    token = valid(app, world)
    accepted = []
    with app.app_context():
        for c in ALPHABET.replace(".", ""):
            variant = token[:-1] + c
            try:
                link = read_answer_link(session, variant, NOW)
            except TokenInvalid:
                continue
            accepted.append(variant)
            assert (link.participant.id, link.question.id) == (world["sanne"], world["q1"])
    assert token in accepted and len(accepted) == 4
