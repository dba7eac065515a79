"""Abuse limits: 429 with the Dutch page, on memory:// and on a real Redis;
the signup honeypot; the request body cap (413)."""

from __future__ import annotations

import io
import uuid

import pytest
import time_machine
from sqlalchemy import func, select

from quiz.db import database, session_scope, utcnow
from quiz.models import Answer, Delivery, Participant
from tests.admin_factories import AdminClient, make_organiser
from tests.answer_factories import links, make_players, make_quiz, send_question
from tests.conftest import PG_URL, _truncate_pg, at
from tests.factories import make_campaign
from tests.test_signup import VALID, csrf_token, sign_up

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own, emptied of our keys afterwards
REDIS_PREFIX = f"quiz-test-{uuid.uuid4().hex[:8]}"


def assert_dutch_429(response) -> None:
    assert response.status_code == 429
    assert "Even wachten" in response.text and "Wacht een paar minuten" in response.text


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def campaign(session):
    return make_campaign(session, utcnow())


def test_signup_per_email_address(client, session, campaign):
    # Different spellings of one address count together.
    for spelling in (
        "jan@example.org",
        "Jan@Example.org",
        "JAN@EXAMPLE.ORG",
        "jan@example.org",
        "Jan@example.org",
    ):
        assert sign_up(client, email=spelling).status_code == 303
    assert_dutch_429(sign_up(client, email="jan@example.org"))
    # Someone else, from the same address, is not affected.
    assert sign_up(client, email="piet@example.org").status_code == 303


def test_signup_per_client_address(app, session, campaign):
    school = app.test_client()
    school.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for i in range(30):
        assert sign_up(school, email=f"collega{i}@example.org").status_code == 303
    assert_dutch_429(sign_up(school, email="collega30@example.org"))
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert sign_up(elsewhere, email="collega30@example.org").status_code == 303


@pytest.fixture
def sent_question(app, session, smtp):
    campaign, qs = make_quiz(session, at("2026-11-16 07:30"))
    (player,) = make_players(session, campaign, at("2026-11-16 07:30"), 1)
    send_question(app, session, player, qs.questions[0], at("2026-11-16 07:30"))
    return smtp.messages[0]


def test_answer_posts_per_link(client, sent_question):
    link = next(path for path in links(sent_question) if path.startswith("/a/"))
    with time_machine.travel(at("2026-11-16 09:00"), tick=False):
        statuses = [client.post(link, data={}).status_code for _ in range(21)]
        assert statuses[:20] == [422] * 20  # no option chosen: the form again
        assert_dutch_429(client.post(link, data={}))
        # Another link of the same email still works.
        other = [path for path in links(sent_question) if path.startswith("/a/")][1]
        assert client.get(other).status_code == 200


def test_the_post_recording_the_answer_does_not_count_towards_the_link_limit(client, session, sent_question):
    from tests.test_answers import option_ids

    link = next(path for path in links(sent_question) if path.startswith("/a/"))
    with time_machine.travel(at("2026-11-16 09:00"), tick=False):
        option = option_ids(client.get(link).text)[0]
        first = client.post(link, data={"option": option})
        assert first.status_code == 200 and "Jouw antwoord" in first.text
        assert "al beantwoord" not in first.text
        # Twenty revisits of the recorded answer, then the link is stopped.
        revisits = [client.post(link, data={"option": option}) for _ in range(20)]
        assert all(r.status_code == 200 and "al beantwoord" in r.text for r in revisits)
        assert_dutch_429(client.post(link, data={"option": option}))
    assert session.scalar(select(func.count()).select_from(Answer)) == 1


def test_guessing_tokens_is_cut_off_per_client_address(app, client, sent_question):
    for i in range(30):
        assert client.get(f"/a/guess{i}").status_code == 400
    assert_dutch_429(client.get("/mijn-quiz/guess-more"))
    # Only bad tokens count: another address with a genuine link is served.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    link = next(path for path in links(sent_question) if path.startswith("/mijn-quiz/"))
    assert other.get(link.split("/vraag/")[0]).status_code in (200, 410)


def test_confirm_posts_per_link(client, session, smtp, campaign):
    from quiz.delivery.sender import send_due

    sign_up(client)
    send_due(client.application, utcnow, "test")
    text = smtp.messages[0].get_body(preferencelist=("plain",)).get_content()
    path = text.split("http://quiz.test", 1)[1].split()[0]
    assert path.startswith("/bevestig/")
    token = csrf_token(client, path)
    for _ in range(20):
        client.post(path, data={"csrf_token": token})  # the first confirms, the rest are repeats
    assert_dutch_429(client.post(path, data={"csrf_token": token}))


def test_honeypot_gets_the_same_page_and_stores_nothing(client, session, campaign):
    page = client.get("/").text
    assert 'class="hp" aria-hidden="true"' in page and 'name="website"' in page and 'tabindex="-1"' in page
    response = sign_up(client, website="http://spam.example")
    assert response.status_code == 303 and response.headers["Location"] == "/aangemeld"
    assert count(session, Participant) == 0 and count(session, Delivery) == 0
    # An empty honeypot (a person) signs up as usual.
    assert sign_up(client, website="").status_code == 303
    assert count(session, Participant) == 1


def test_a_huge_body_gets_413_in_dutch_and_stores_nothing(client, session, campaign):
    data = {**VALID, "csrf_token": csrf_token(client), "name": "x" * 200_000}
    response = client.post("/", data=data)
    assert response.status_code == 413
    assert "Dat is te veel" in response.text
    assert count(session, Participant) == 0


def test_the_question_set_import_accepts_a_bigger_file(client, session):
    make_organiser(session)
    admin = AdminClient(client)
    admin.login()
    toml = b'slug = "groot"\n' + b"# " + b"x" * 400_000 + b"\n"
    response = admin.post(
        "/admin/vragensets/importeren",
        data={"file": (io.BytesIO(toml), "groot.toml")},
        content_type="multipart/form-data",
    )
    assert response.status_code != 413
    assert "Dat is te veel" not in response.text


# --- Redis -----------------------------------------------------------------


@pytest.fixture
def redis_app(app_config):
    """An app whose limits count in Redis (a database of its own, keys under a
    prefix of this test run, removed afterwards)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("the Redis on 127.0.0.1:6379 is not running")
    from quiz import create_app
    from quiz.db import database

    app = create_app(
        {**app_config, "QUIZ_RATELIMIT_STORAGE_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": REDIS_PREFIX}
    )
    yield app, client
    for key in client.scan_iter(match="*" + REDIS_PREFIX + "*"):
        client.delete(key)
    client.close()
    if PG_URL:
        _truncate_pg(app)
    database(app).dispose()


def test_limits_live_in_redis(redis_app):
    app, redis_client = redis_app
    with session_scope(app) as session:
        make_campaign(session, utcnow())
    web = app.test_client()
    for _ in range(5):
        assert sign_up(web, email="redis@example.org").status_code == 303
    assert_dutch_429(sign_up(web, email="redis@example.org"))

    keys = [key.decode() for key in redis_client.scan_iter(match="*" + REDIS_PREFIX + "*")]
    assert keys, "no rate-limit counters in Redis"
    # The counters are keyed by a hash: no email address in Redis.
    assert not any("redis@example.org" in key or "@" in key for key in keys)
    # A second web process (a new app on the same Redis) sees the same counts.
    second = create_second_app(app)
    try:
        assert_dutch_429(sign_up(second.test_client(), email="redis@example.org"))
    finally:
        database(second).dispose()


def create_second_app(app):
    from quiz import create_app

    return create_app(
        {key: app.config[key] for key in app.config if key.startswith(("QUIZ_", "RATELIMIT_", "TESTING"))}
    )


def test_an_unreachable_limit_store_does_not_stop_participants(app_config, caplog):
    """Redis down: signing up still works, the limits count in this process
    instead, and the operator finds the reason in the log."""
    from quiz import create_app

    with socket_nobody_listens_on() as port:
        app = create_app({**app_config, "QUIZ_RATELIMIT_STORAGE_URL": f"redis://127.0.0.1:{port}/0"})
        try:
            with session_scope(app) as session:
                make_campaign(session, utcnow())
            web = app.test_client()
            with caplog.at_level("WARNING", logger="flask-limiter"):
                response = sign_up(web, email="geen-redis@example.org")
            assert response.status_code == 303
            with session_scope(app) as session:
                assert count(session, Participant) == 1
            assert "rate limit storage unreachable" in caplog.text.lower()
            for _ in range(4):
                assert sign_up(web, email="geen-redis@example.org").status_code == 303
            assert_dutch_429(sign_up(web, email="geen-redis@example.org"))
        finally:
            if PG_URL:
                _truncate_pg(app)
            database(app).dispose()


def socket_nobody_listens_on():
    """A loopback port that refuses connections (bound, never listening)."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def reserved():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            yield s.getsockname()[1]

    return reserved()


def test_an_address_over_the_bad_token_limit_is_stopped_for_every_link(client, sent_question):
    """The block holds for genuine links too: a guesser who is cut off learns
    nothing more, not even from a guess that happens to be right."""
    genuine = next(path for path in links(sent_question) if path.startswith("/a/"))
    # On the quiz day, while the genuine link still works.
    with time_machine.travel(at("2026-11-16 09:00"), tick=False):
        for i in range(29):
            assert client.get(f"/a/guess{i}").status_code == 400
        assert client.get(genuine).status_code == 200  # still within the limit
        assert client.get("/a/guess29").status_code == 400  # the 30th bad token reaches it
        assert_dutch_429(client.get("/a/guess-30"))
        assert_dutch_429(client.get(genuine))


def test_a_second_web_process_stops_a_blocked_address_at_once(redis_app, smtp):
    """Counts live in Redis, and every request to a token route checks them:
    a second process stops the blocked address at its first request, and
    serves other addresses."""
    app, _ = redis_app
    with session_scope(app) as session:
        campaign, qs = make_quiz(session, at("2026-11-16 07:30"))
        (player,) = make_players(session, campaign, at("2026-11-16 07:30"), 1)
        send_question(app, session, player, qs.questions[0], at("2026-11-16 07:30"))
    genuine = next(path for path in links(smtp.messages[-1]) if path.startswith("/mijn-quiz/"))
    genuine = genuine.split("/vraag/")[0]
    second = create_second_app(app)
    # During the quiz, while the genuine link still works.
    with time_machine.travel(at("2026-11-16 09:00"), tick=False):
        first = app.test_client()
        for i in range(30):
            assert first.get(f"/a/guess{i}").status_code == 400
        assert_dutch_429(first.get("/a/guess-30"))
        try:
            other = second.test_client()
            assert_dutch_429(other.get(genuine))
            assert_dutch_429(other.get("/a/guess-31"))
            elsewhere = second.test_client()
            elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
            assert elsewhere.get("/a/guess-32").status_code == 400
        finally:
            database(second).dispose()


def test_redis_keys_hold_no_address_or_token_in_the_clear(redis_app, sent_question):
    """Rate-limit counters in Redis are keyed by hashes: no client address,
    email address or link token can be read from them."""
    app, redis = redis_app
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.77"
    link = next(path for path in links(sent_question) if path.startswith("/a/"))
    with time_machine.travel(at("2026-11-16 09:00"), tick=False):
        client.get("/a/guess-for-the-keys")
        client.post(link, data={})
    keys = [key.decode() for key in redis.scan_iter(match="*" + REDIS_PREFIX + "*")]
    assert keys, "the requests were counted in Redis"
    token = link.rsplit("/", 1)[1]
    for key in keys:
        assert "198.51.100.77" not in key and token not in key and "@" not in key
