"""Working days: Monday to Friday, minus Dutch public holidays and a
campaign's own skip dates. Pure functions; nothing here reads the clock."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=32)
def _dutch_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("NL", years=year)


def dutch_holiday_name(day: date) -> str | None:
    """The name of the Dutch public holiday on `day`, or None."""
    return _dutch_holidays(day.year).get(day)


def is_working_day(day: date, skip_dates: Iterable[date] = ()) -> bool:
    """A working day is Monday–Friday, not a Dutch public holiday, not skipped."""
    return day.weekday() < 5 and dutch_holiday_name(day) is None and day not in set(skip_dates)


def working_days_from(start: date, skip_dates: Iterable[date] = ()) -> Iterator[date]:
    """Every working day on or after `start`, in order."""
    skips = frozenset(skip_dates)
    day = start
    while True:
        if is_working_day(day, skips):
            yield day
        day += timedelta(days=1)


def next_working_day(after: date, skip_dates: Iterable[date] = ()) -> date:
    """The first working day strictly after `after`."""
    return next(working_days_from(after + timedelta(days=1), skip_dates))


def first_working_day_on_or_after(day: date, skip_dates: Iterable[date] = ()) -> date:
    return next(working_days_from(day, skip_dates))


def nth_working_day(first: date, n: int, skip_dates: Iterable[date] = ()) -> date:
    """The n-th working day counting `first` (itself a working day) as n = 1."""
    if n < 1:
        raise ValueError("n starts at 1")
    days = working_days_from(first, skip_dates)
    for _ in range(n - 1):
        next(days)
    return next(days)


def parse_skip_dates(values: Iterable[str]) -> frozenset[date]:
    return frozenset(date.fromisoformat(v) for v in values)
