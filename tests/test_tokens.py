"""quiz.tokens signs with its own TokenSigner and verifies with itsdangerous:
the signer must write exactly the bytes itsdangerous writes, so links signed
either way read the same, and key rotation keeps working."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from quiz.tokens import TokenExpired, TokenInvalid, TokenSigner, make_token, read_token
from tests.conftest import at

NOW = at("2026-11-16 09:00")

ids = st.integers(min_value=-(2**63), max_value=2**63)
json_values = st.recursive(
    st.none() | st.booleans() | ids | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)
payloads = (
    ids
    | st.lists(ids, max_size=8)
    # repetitive lists: the zlib form is shorter, so itsdangerous compresses them
    | st.lists(st.sampled_from([1, 7, 100000]), min_size=5, max_size=60)
    | json_values
)


@settings(max_examples=3000, deadline=None)
@given(
    payload=payloads,
    timestamp=st.integers(min_value=0, max_value=2**40),
    key=st.text(min_size=1, max_size=40),
    salt=st.sampled_from(["quiz.answer", "quiz.manage", "quiz.unsubscribe", "quiz.é"]),
)
def test_the_signer_writes_what_itsdangerous_writes(payload, timestamp, key, salt):
    # itsdangerous at a frozen time; with fallback keys it signs with the last one
    with patch.object(TimestampSigner, "get_timestamp", return_value=timestamp):
        expected = URLSafeTimedSerializer(["old-key", key], salt=salt).dumps(payload)
    assert TokenSigner(key, salt).dumps(payload, timestamp) == expected


def test_signed_now_unless_a_timestamp_is_given(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_790_000_000.7)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_790_000_000)
    signer = TokenSigner("k", "quiz.answer")
    assert signer.dumps([1, 2, 3]) == URLSafeTimedSerializer("k", salt="quiz.answer").dumps([1, 2, 3])


def test_tokens_read_back_per_purpose_and_across_a_key_rotation(app, app_config):
    from quiz import create_app
    from quiz.db import database

    with app.app_context():
        token = make_token("answer", [12, 3, 45])
    rotated = create_app(
        {**app_config, "QUIZ_SECRET_KEY": "new-key", "QUIZ_SECRET_KEY_FALLBACKS": ["test-secret"]}
    )
    try:
        with rotated.app_context():
            fresh = make_token("answer", [12, 3, 45])
            assert fresh != token
            for t in (token, fresh):
                assert read_token("answer", t, 10**10, NOW) == [12, 3, 45]
            with pytest.raises(TokenInvalid):
                read_token("manage", fresh, 10**10, NOW)  # another purpose, another salt
    finally:
        database(rotated).dispose()
    with app.app_context(), pytest.raises(TokenInvalid):
        read_token("answer", fresh, 10**10, NOW)  # the old app does not know the new key
    with app.app_context(), pytest.raises(TokenExpired):
        read_token("answer", token, 0, NOW.replace(year=2100))


def test_an_unknown_purpose_is_refused(app):
    with app.app_context(), pytest.raises(ValueError):
        make_token("reset-password", 1)
