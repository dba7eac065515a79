"""Signed links (quiz.links): one purpose per kind of link, each with its own
lifetime, key rotation through QUIZ_SECRET_KEY_FALLBACKS, and links sent
before the move to itsdangerous's own code still open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from quiz import links
from quiz.links import TokenExpired, TokenInvalid
from tests.conftest import at

SIGNED = at("2026-11-16 09:00")  # 08:00 UTC, when the tokens below were signed

# Written by the hand-made signer this project used before (quiz/tokens.py,
# removed) with the test key at SIGNED: links in emails sent before the
# change. itsdangerous must read them as they are.
EARLIER = {
    "answer": ("WzEyLDMsNDVd.avq4AA.XyAD9hXCKJhkS1zL5cE6chcq8jk", [12, 3, 45]),
    "manage": ("MTI.avq4AA.Gg7SxltRYc3qutwwXWJvwYkEelo", 12),
    "unsubscribe": ("MTI.avq4AA.d-4bcGk5EGDCbSRlN8mgzgRTO3U", 12),
    "discussed": ("WzEyLDNd.avq4AA.Oss_wPQKacxRYgBbRYIwyJB756M", [12, 3]),
    "preview": ("WzMsMF0.avq4AA.boN8_4gIP4vxaVFG2N4p6zkX4xc", [3, 0]),
    "confirm": ("MTI.avq4AA.gvM-_pG_FG-2W8ccJHjRcBBV6d0", 12),
}


def make_app(key: str = "test-secret", fallbacks: tuple[str, ...] = ()) -> Flask:
    app = Flask("links")
    app.config.update(
        QUIZ_SECRET_KEY=key, QUIZ_SECRET_KEY_FALLBACKS=list(fallbacks), QUIZ_TOKEN_MAX_AGE_DAYS=7
    )
    return app


@pytest.fixture
def ctx() -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app


@pytest.mark.parametrize("purpose", sorted(EARLIER))
def test_links_sent_before_the_change_still_open(ctx, purpose):
    token, payload = EARLIER[purpose]
    assert links.load(purpose, token, SIGNED + timedelta(days=1)) == payload


def test_each_purpose_reads_back_its_own_ids(ctx):
    now = at("2026-11-16 09:00")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("time.time", lambda: SIGNED.timestamp())
        tokens = {
            "confirm": links.confirm_token(12),
            "answer": links.answer_token(12, 3, 45),
            "manage": links.manage_token(12),
            "unsubscribe": links.unsubscribe_token(12),
            "discussed": links.discussed_token(12, 3),
            "preview": links.preview_token(3),
        }
    assert {purpose: token for purpose, (token, _) in EARLIER.items()} == tokens  # the same bytes as before
    assert links.read_confirm(tokens["confirm"], now) == 12
    assert links.read_answer(tokens["answer"], now) == (12, 3, 45)
    assert links.read_answer(links.answer_token(12, 3), now) == (12, 3, None)
    assert links.read_manage(tokens["manage"], now) == 12
    assert links.read_unsubscribe(tokens["unsubscribe"], now) == 12
    assert links.read_discussed(tokens["discussed"], now) == (12, 3)
    assert links.read_preview(tokens["preview"], now) == (3, None)
    assert links.read_preview(links.preview_token(3, 7), now) == (3, 7)
    assert links.read_repeat(links.repeat_token(12, 3, 2, 45), now) == (12, 3, 2, 45)
    assert links.read_repeat(links.repeat_token(12, 3, 1), now) == (12, 3, 1, None)
    assert links.read_repeats_stop(links.repeats_stop_token(12), now) == 12


def test_a_repeat_link_holds_a_round_the_campaign_can_have(ctx):
    now = at("2026-11-16 09:00")
    for payload in ([12, 3, 6, 45], [12, 3, 0], [12, 3], [12, 3, 1, 45, 6], [12, 3, True]):
        with pytest.raises(TokenInvalid):
            links.read_repeat(links.sign("repeat", payload), now)


@pytest.mark.parametrize("purpose", links.PURPOSES)
def test_a_token_opens_only_its_own_kind_of_page(ctx, purpose):
    token = EARLIER[purpose][0] if purpose in EARLIER else links.sign(purpose, [12, 3, 1])
    for other in links.PURPOSES:
        if other != purpose:
            with pytest.raises(TokenInvalid):
                links.load(other, token, SIGNED)


def test_a_key_rotation_keeps_sent_links_working():
    with make_app("old-key").app_context():
        before = links.manage_token(7)
    rotated = make_app("new-key", fallbacks=("older-key", "old-key"))
    with rotated.app_context():
        after = links.manage_token(7)
        assert after != before  # new links are signed with the new key
        assert links.read_manage(before, at("2026-11-20 09:00")) == 7
        assert links.read_manage(after, at("2026-11-20 09:00")) == 7
    # An app that never had the new key refuses what it signs; so does one
    # whose fallbacks no longer hold the old key.
    with make_app("old-key").app_context(), pytest.raises(TokenInvalid):
        links.read_manage(after, at("2026-11-20 09:00"))
    with make_app("new-key").app_context(), pytest.raises(TokenInvalid):
        links.read_manage(before, at("2026-11-20 09:00"))


@pytest.mark.parametrize(
    ("purpose", "lifetime"),
    [
        ("confirm", timedelta(days=7)),  # QUIZ_TOKEN_MAX_AGE_DAYS
        ("preview", timedelta(days=30)),
        ("answer", timedelta(days=400)),  # the backstop: the answer window decides long before
        ("manage", timedelta(days=400)),
        ("unsubscribe", timedelta(days=400)),
        ("discussed", timedelta(days=400)),
    ],
)
def test_each_purpose_expires_after_its_own_lifetime(ctx, purpose, lifetime):
    token, payload = EARLIER[purpose]
    assert links.load(purpose, token, SIGNED + lifetime) == payload
    with pytest.raises(TokenExpired):
        links.load(purpose, token, SIGNED + lifetime + timedelta(seconds=1))


def test_the_confirm_lifetime_follows_the_setting(ctx):
    token, _ = EARLIER["confirm"]
    ctx.config["QUIZ_TOKEN_MAX_AGE_DAYS"] = 2
    with pytest.raises(TokenExpired):
        links.read_confirm(token, SIGNED + timedelta(days=3))


@pytest.mark.parametrize("payload", [True, 0, -1, 2**31, "12", [12], None, 1.5])
def test_a_signed_payload_that_names_no_participant_is_invalid(ctx, payload):
    """Only the secret key can sign these; still never an exception past the page."""
    for purpose, read in (("confirm", links.read_confirm), ("manage", links.read_manage),
                          ("unsubscribe", links.read_unsubscribe)):  # fmt: skip
        with pytest.raises(TokenInvalid):
            read(links.sign(purpose, payload), SIGNED)


@pytest.mark.parametrize(
    "payload", [[12], [12, 3, 45, 1], [True, 3, 45], [12, -3], [12, 3, 2**40], {"p": 12}, "12,3"]
)
def test_a_signed_payload_of_the_wrong_shape_is_invalid(ctx, payload):
    for purpose, read in (("answer", links.read_answer), ("discussed", links.read_discussed),
                          ("preview", links.read_preview)):  # fmt: skip
        with pytest.raises(TokenInvalid):
            read(links.sign(purpose, payload), SIGNED)


@pytest.mark.parametrize("token", ["", "hallo", "...", "a.b.c", "WzEyXQ.avq4AA", "é.é.é"])
def test_garbage_is_invalid(ctx, token):
    with pytest.raises(TokenInvalid):
        links.load("answer", token, SIGNED)


def test_an_unknown_purpose_is_refused(ctx):
    with pytest.raises(ValueError):
        links.sign("reset-password", 1)
    with pytest.raises(ValueError):
        links.load("reset-password", "x.y.z", SIGNED)
