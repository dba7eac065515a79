"""Working days: Monday to Friday, minus Dutch public holidays and a
campaign's own skip dates. Pure functions; nothing here reads the clock."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from functools import lru_cache

import holidays

# No campaign runs for years; a bound keeps a bad skip list from looping forever.
_MAX_SEARCH_DAYS = 3 * 366


@lru_cache(maxsize=32)
def _dutch_holidays(year: int) -> holidays.HolidayBase:
    # Dutch names: organisers read them in the campaign calendar.
    return holidays.country_holidays("NL", years=year, language="nl")


def dutch_holiday_name(day: date) -> str | None:
    """The name of the Dutch public holiday on `day`, or None."""
    return _dutch_holidays(day.year).get(day)


def is_working_day(day: date, skip_dates: Iterable[date] = ()) -> bool:
    """A working day is Monday–Friday, not a Dutch public holiday, not skipped."""
    if not isinstance(skip_dates, frozenset | set):
        skip_dates = set(skip_dates)
    return day.weekday() < 5 and day not in skip_dates and dutch_holiday_name(day) is None


def _walk(start: date, step: int, skip_dates: Iterable[date]) -> Iterator[date]:
    skips = frozenset(skip_dates)
    day = start
    for _ in range(_MAX_SEARCH_DAYS):
        if is_working_day(day, skips):
            yield day
        day += timedelta(days=step)
    raise ValueError(f"no working day within {_MAX_SEARCH_DAYS} days of {start}")


def working_days_from(start: date, skip_dates: Iterable[date] = ()) -> Iterator[date]:
    """Every working day on or after `start`, in order."""
    return _walk(start, 1, skip_dates)


def working_days_back_from(end: date, skip_dates: Iterable[date] = ()) -> Iterator[date]:
    """Every working day on or before `end`, newest first."""
    return _walk(end, -1, skip_dates)


def next_working_day(after: date, skip_dates: Iterable[date] = ()) -> date:
    """The first working day strictly after `after`."""
    return next(working_days_from(after + timedelta(days=1), skip_dates))


def first_working_day_on_or_after(day: date, skip_dates: Iterable[date] = ()) -> date:
    return next(working_days_from(day, skip_dates))


def nth_working_day(first: date, n: int, skip_dates: Iterable[date] = ()) -> date:
    """The n-th working day counting from `first`: the first working day on or
    after `first` is n = 1."""
    if n < 1:
        raise ValueError("n starts at 1")
    days = working_days_from(first, skip_dates)
    for _ in range(n - 1):
        next(days)
    return next(days)


def repeat_round_start(
    last_quiz_day: date, round_: int, interval: int, skip_dates: Iterable[date] = ()
) -> date:
    """The day round `round_` of the repeat questions begins for someone whose
    last question went out on `last_quiz_day`: round_ * interval working days
    after it. One schedule for the planner (quiz.repeats.rules), the
    organisers' calendar and the certificate's "no repeat left to come"."""
    return nth_working_day(last_quiz_day + timedelta(days=1), round_ * interval, skip_dates)


def nth_working_day_back(end: date, n: int, skip_dates: Iterable[date] = ()) -> date:
    """The n-th working day counting back from `end`: the last working day on or
    before `end` is n = 1.

    Someone whose first quiz day is on or before this day has had at least n
    working days by `end` — the planner's test for "question n is due".
    """
    if n < 1:
        raise ValueError("n starts at 1")
    days = working_days_back_from(end, skip_dates)
    for _ in range(n - 1):
        next(days)
    return next(days)


def count_working_days(first: date, last: date, skip_dates: Iterable[date] = ()) -> int:
    """How many working days lie in [first, last], both ends included."""
    skips = frozenset(skip_dates)
    return sum(1 for i in range((last - first).days + 1) if is_working_day(first + timedelta(days=i), skips))


def parse_skip_dates(values: Iterable[str]) -> frozenset[date]:
    """Skip dates as stored on a campaign (ISO strings) to dates."""
    return frozenset(date.fromisoformat(v) for v in values)
