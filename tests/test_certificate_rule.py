"""When the certificate of participation is available: the pure rule
(quiz.followups.certificate.availability), on fixed dates, and the code's
format. No database."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from quiz.followups.certificate import CertificateFacts, availability, last_repeat_day
from quiz.followups.certificate_code import new_code, normalise_code
from tests.conftest import at

# Five questions from Monday 16 November 2026: the last goes out on Friday 20 November.
DONE = CertificateFacts(
    enabled=True,
    status="completed",
    timezone="Europe/Amsterdam",
    skip_dates=frozenset(),
    questions=5,
    last_quiz_day=date(2026, 11, 20),
    last_question_out=True,
    open_deliveries=0,
    repeats="none",
    repeat_interval_days=7,
    repeat_max=2,
    repeats_stopped=False,
    repeats_left=True,
)


def facts(**changes: object) -> CertificateFacts:
    return dataclasses.replace(DONE, **changes)


def test_available_once_the_last_question_went_out():
    assert availability(DONE, at("2026-11-20 07:31")).state == "available"


def test_not_before_the_last_question_went_out_and_says_from_when():
    state = availability(facts(last_question_out=False, status="active"), at("2026-11-18 12:00"))
    assert (state.state, state.from_day) == ("later", date(2026, 11, 20))


def test_a_question_email_still_in_the_outbox_holds_it_back():
    # On the day itself, with the email deferred: no date to promise, "as soon as".
    state = availability(facts(open_deliveries=1), at("2026-11-20 09:00"))
    assert (state.state, state.from_day) == ("later", None)


@pytest.mark.parametrize(
    "changes",
    [{"enabled": False}, {"status": "erased"}, {"status": "pending"}, {"last_quiz_day": None}],
)
def test_off(changes):
    assert availability(facts(**changes), at("2026-12-20 12:00")).state == "off"


def test_who_unsubscribed_before_the_last_question_gets_none():
    state = availability(facts(status="unsubscribed", last_question_out=False), at("2026-12-20 12:00"))
    assert state.state == "off"


def test_who_unsubscribed_after_the_last_question_keeps_it():
    assert availability(facts(status="unsubscribed"), at("2026-11-23 12:00")).available


def test_last_repeat_day_counts_working_days_and_skips_holidays():
    # 2 rounds of 7 working days, then 4 more days for the last round's other
    # questions: 18 working days after Friday 20 November 2026.
    assert last_repeat_day(facts(repeats="wrong")) == date(2026, 12, 16)
    # without Christmas Day (Friday 25 December) it would be that day
    assert last_repeat_day(facts(repeats="wrong", repeat_max=3)) == date(2026, 12, 28)
    # a skip date moves it a working day further
    assert last_repeat_day(facts(repeats="wrong", skip_dates=frozenset({date(2026, 12, 1)}))) == date(
        2026, 12, 17
    )


def test_with_repeats_it_waits_until_the_last_possible_repeat_day_has_passed():
    waiting = facts(repeats="wrong")
    state = availability(waiting, at("2026-11-23 12:00"))
    assert (state.state, state.from_day) == ("later", date(2026, 12, 17))
    assert not availability(waiting, at("2026-12-16 23:59")).available
    assert availability(waiting, at("2026-12-17 00:00")).available
    # ... and while the last repeat is still in the outbox, it waits for that too
    assert availability(facts(repeats="all", open_deliveries=1), at("2026-12-18 12:00")).state == "later"


@pytest.mark.parametrize(
    "changes",
    [
        {"repeats_stopped": True},  # stopped with one click
        {"status": "unsubscribed"},  # unsubscribed get no repeats either
        {"repeats_left": False},  # everything mastered (or right the first time, for 'wrong')
    ],
)
def test_no_waiting_for_repeats_that_cannot_come(changes):
    assert availability(facts(repeats="wrong", **changes), at("2026-11-23 12:00")).available


def test_codes_are_random_readable_and_normalised():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 14 and code[4] == code[9] == "-"
        assert not set(code) & set("01OILUV")
        assert normalise_code(code.lower().replace("-", " ")) == code
    code = next(iter(codes))
    assert normalise_code(f"  {code.replace('-', '')}  ") == code


@pytest.mark.parametrize(
    "text", ["", "ABCD", "ABCD-EFGH-JKM0", "ABCD-EFGH-JKMNP", "ABCD EFGH JKMÑ", "<script>"]
)
def test_what_cannot_be_a_code(text):
    assert normalise_code(text) is None
