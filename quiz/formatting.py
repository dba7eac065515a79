"""Dutch dates, times and counts for pages and emails, through Babel's `nl` formats.

Times are stored in UTC; people read them in the campaign's timezone, so the
filters that take a datetime also take the timezone (`in_tz`, `dutch_moment`).
Counted nouns go through `counted` so that "1 antwoord" and "2 antwoorden"
follow the language's plural rule instead of a "(s)" or a wrong plural.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal
from flask import Flask

LOCALE = Locale("nl")


def dutch_date(value: date | datetime, weekday: bool = True) -> str:
    """'maandag 16 november 2026' (Babel's full date), or '16 november 2026'.

    A datetime is taken as it is: convert it to the campaign's zone first
    (`in_tz`), or use `dutch_moment`.
    """
    day = value.date() if isinstance(value, datetime) else value
    return format_date(day, "full" if weekday else "long", locale=LOCALE)


def dutch_time(value: time | datetime) -> str:
    """'07:30': Babel's short time for nl, in the value's own zone."""
    if isinstance(value, datetime):
        value = value.time()  # the wall-clock time in the value's own zone
    return format_time(value, "short", locale=LOCALE)


def dutch_moment(value: datetime | None, tz: str, weekday: bool = True, empty: str = "-") -> str:
    """An aware UTC datetime as people read it in zone `tz`:
    'vrijdag 4 december 2026 om 19:05' (`empty` for None)."""
    if value is None:
        return empty
    pattern = ("EEEE " if weekday else "") + "d MMMM y 'om' HH:mm"
    return format_datetime(value, pattern, tzinfo=ZoneInfo(tz), locale=LOCALE)


def in_tz(value: datetime, tz: str) -> datetime:
    """An aware UTC datetime shown in the campaign's local time."""
    return value.astimezone(ZoneInfo(tz))


def dutch_number(value: int) -> str:
    """12.345 (Dutch grouping)."""
    return format_decimal(value, locale=LOCALE)


def counted(n: int, one: str, other: str) -> str:
    """'1 antwoord', '0 antwoorden', '1.200 antwoorden': the number with the
    noun in the form the Dutch plural rule asks for."""
    noun = one if LOCALE.plural_form(n) == "one" else other
    return f"{dutch_number(n)} {noun}"


def init_app(app: Flask) -> None:
    app.add_template_filter(in_tz, "in_tz")
    app.add_template_filter(dutch_date, "dutch_date")
    app.add_template_filter(dutch_time, "dutch_time")
    app.add_template_filter(dutch_moment, "dutch_moment")
    app.add_template_global(counted, "counted")
