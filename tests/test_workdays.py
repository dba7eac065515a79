"""Working days: weekends, Dutch public holidays and a campaign's skip dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quiz.delivery.workdays import (
    count_working_days,
    dutch_holiday_name,
    is_working_day,
    next_working_day,
    nth_working_day,
    nth_working_day_back,
    parse_skip_dates,
)

MON = date(2026, 11, 16)  # Week tegen Kindermishandeling 2026


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 16), True),  # Monday
        (date(2026, 11, 20), True),  # Friday
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 11, 22), False),  # Sunday
        (date(2026, 4, 27), False),  # Koningsdag
        (date(2026, 5, 14), False),  # Hemelvaartsdag
        (date(2026, 5, 25), False),  # Tweede Pinksterdag
        (date(2026, 12, 25), False),  # Eerste Kerstdag
        (date(2026, 12, 24), True),
    ],
)
def test_working_day(day, expected):
    assert is_working_day(day) is expected


def test_holiday_names_come_from_the_holidays_package():
    assert dutch_holiday_name(date(2026, 4, 27)) == "Koningsdag"
    assert dutch_holiday_name(MON) is None


def test_skip_dates_are_not_working_days():
    skips = parse_skip_dates(["2026-11-18"])
    assert not is_working_day(date(2026, 11, 18), skips)
    assert nth_working_day(MON, 3, skips) == date(2026, 11, 19)


def test_five_quiz_days_around_ascension_day():
    # Monday 11 May 2026: Thursday the 14th is Hemelvaartsdag.
    days = [nth_working_day(date(2026, 5, 11), k) for k in range(1, 6)]
    assert days == [date(2026, 5, d) for d in (11, 12, 13, 15, 18)]


def test_next_working_day_skips_the_weekend():
    assert next_working_day(date(2026, 11, 20)) == date(2026, 11, 23)


def test_nth_working_day_back_counts_back_from_the_last_working_day():
    assert nth_working_day_back(date(2026, 11, 22), 1) == date(2026, 11, 20)  # Sunday → Friday
    assert nth_working_day_back(date(2026, 5, 15), 2) == date(2026, 5, 13)  # over Ascension Day


def test_n_starts_at_one():
    with pytest.raises(ValueError):
        nth_working_day(MON, 0)
    with pytest.raises(ValueError):
        nth_working_day_back(MON, 0)


def test_a_skip_list_without_any_working_day_is_an_error_not_a_hang():
    every_day = {date.fromordinal(MON.toordinal() + i) for i in range(4 * 366)}
    with pytest.raises(ValueError, match="no working day"):
        next_working_day(MON, every_day)


days = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))


@given(first=days, n=st.integers(min_value=1, max_value=10))
def test_nth_working_day_and_counting_agree(first, n):
    day = nth_working_day(first, n)
    assert is_working_day(day)
    assert count_working_days(first, day) == n


@given(end=days, n=st.integers(min_value=1, max_value=10), first=days)
def test_counting_back_is_the_planners_threshold(end, n, first):
    # "first ≤ n-th working day back from end" ⇔ "at least n working days in [first, end]"
    assert (first <= nth_working_day_back(end, n)) == (count_working_days(first, end) >= n)
