"""Dutch formatting of dates and times for pages and emails."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import Flask

_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip


def dutch_date(value: date | datetime, weekday: bool = True) -> str:
    """'maandag 16 november 2026'."""
    text = f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return f"{_DAYS[value.weekday()]} {text}" if weekday else text


def dutch_time(value: time | datetime) -> str:
    """'07:30' (the Dutch way writes 07.30 too; the colon reads on every device)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def in_tz(value: datetime, tz: str) -> datetime:
    """An aware UTC datetime shown in the campaign's local time."""
    return value.astimezone(ZoneInfo(tz))


def init_app(app: Flask) -> None:
    app.add_template_filter(in_tz, "in_tz")
    app.add_template_filter(dutch_date, "dutch_date")
    app.add_template_filter(dutch_time, "dutch_time")
