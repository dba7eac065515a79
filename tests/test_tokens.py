"""quiz.tokens signs and verifies itsdangerous tokens with its own faster
code: the signer must write exactly the bytes itsdangerous writes and the
reader accept exactly what itsdangerous accepts (in our one spelling), so
links signed either way read the same, and key rotation keeps working."""

from __future__ import annotations

import zlib
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from quiz.tokens import TokenExpired, TokenInvalid, TokenSigner, _may_compress, make_token, read_token
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
    # answer links' [participant, question, option]: signed without trying zlib
    | st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=4)
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


def zlib_form_kept(body: bytes) -> bool:
    """itsdangerous's rule: the zlib form when it is shorter than len(body) - 1."""
    return len(zlib.compress(body)) < len(body) - 1


# Bodies near the limits of the rule: every length up to and past 20, few
# distinct bytes (short Huffman codes), repeats, ids as JSON, non-ASCII.
bodies = (
    st.binary(max_size=26)
    | st.lists(st.sampled_from(b"01,[]"), max_size=26).map(bytes)
    | st.lists(st.sampled_from(b"ab"), max_size=26).map(bytes)
    | st.lists(st.integers(min_value=0, max_value=10**9), max_size=5).map(
        lambda v: str(v).replace(" ", "").encode()
    )
    | st.text(alphabet="0123456789,[]é", max_size=20).map(str.encode)
    # a short run repeated, between two pieces: what deflate's matches find
    | st.builds(
        lambda head, unit, times, tail: head + unit * times + tail,
        st.binary(max_size=3),
        st.binary(min_size=1, max_size=3),
        st.integers(min_value=1, max_value=12),
        st.binary(max_size=3),
    )
)


@settings(max_examples=5000, deadline=None)
@given(body=bodies)
def test_zlib_is_skipped_only_where_its_form_would_be_thrown_away(body):
    if zlib_form_kept(body):
        assert _may_compress(body)


def test_answer_link_bodies_skip_zlib_and_repetitive_ones_do_not():
    # the rule has to hold for the sender's own tokens to save anything
    for body in (b"[123456,3,17]", b"[98765,12,345]", b"[1234567,5,20]", b"[42]", b"1234567"):
        assert not _may_compress(body)
    assert zlib_form_kept(b"[111111111111]")  # 14 bytes: repeats compress
    for body in (b"[111111111111]", b"[100000,3,17]", b"[1234567,12,1234]", "[é,1234567]".encode()):
        assert _may_compress(body)


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


def itsdangerous_reads(token: str, keys: list[str], salt: str):
    """What the reader must do, written with itsdangerous: its `loads`, plus
    the one-spelling rule (every part re-encodes to itself)."""
    from itsdangerous import BadData
    from itsdangerous.encoding import base64_decode, base64_encode

    try:
        payload, _ = URLSafeTimedSerializer(keys, salt=salt).loads(token, return_timestamp=True)
        parts = token.split(".")
        parts = parts[1:] if parts[0] == "" else parts
        canonical = len(parts) == 3 and all(
            part and base64_encode(base64_decode(part)).decode() == part for part in parts
        )
    except (BadData, UnicodeError, ValueError, TypeError, OverflowError, OSError):
        return "invalid"
    return ("valid", payload) if canonical else "invalid"


def reads(token: str, key: str, fallbacks: list[str], purpose: str):
    from flask import Flask

    app = Flask("reader")
    app.config.update(QUIZ_SECRET_KEY=key, QUIZ_SECRET_KEY_FALLBACKS=fallbacks)
    with app.app_context():
        try:
            return ("valid", read_token(purpose, token, 2**40, NOW))
        except TokenInvalid:
            return "invalid"


@settings(max_examples=3000, deadline=None)
@given(
    payload=payloads,
    timestamp=st.integers(min_value=1, max_value=2**33),  # 0 would be an empty part
    key=st.text(min_size=1, max_size=40),
    signed_with_fallback=st.booleans(),
    purpose=st.sampled_from(["answer", "manage", "unsubscribe"]),
    mutations=st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(ALPHABET)), max_size=3),
    cut=st.integers(min_value=0, max_value=3),
)
def test_the_reader_accepts_exactly_what_itsdangerous_accepts(
    payload, timestamp, key, signed_with_fallback, purpose, mutations, cut
):
    """Genuine tokens (signed with the key or a fallback), and the same tokens
    with characters replaced or cut off: both readers agree on every one."""
    salt = f"quiz.{purpose}"
    signing_key = "old-key" if signed_with_fallback else key
    with patch.object(TimestampSigner, "get_timestamp", return_value=timestamp):
        token = URLSafeTimedSerializer(signing_key, salt=salt).dumps(payload)
    chars = list(token)
    for position, char in mutations:
        chars[position % len(chars)] = char
    token = "".join(chars)[: len(chars) - cut]
    expected = itsdangerous_reads(token, ["old-key", key], salt)
    assert reads(token, key, ["old-key"], purpose) == expected
    if not mutations and not cut:
        assert expected == ("valid", payload)


def test_a_token_of_another_purpose_or_key_is_refused():
    token = TokenSigner("k", "quiz.manage").dumps(7)
    assert reads(token, "k", [], "manage") == ("valid", 7)
    assert reads(token, "k", [], "answer") == "invalid"
    assert reads(token, "other", [], "manage") == "invalid"
    assert reads(token, "new", ["k"], "manage") == ("valid", 7)


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
