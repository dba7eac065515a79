"""Dutch dates, times and counts (Babel's nl formats) and the Dutch names of stored codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from quiz.formatting import counted, dutch_date, dutch_moment, dutch_time, in_tz
from quiz.names import email_name, participant_status_name


def test_dates_and_times_in_dutch():
    assert dutch_date(date(2026, 11, 16)) == "maandag 16 november 2026"
    assert dutch_date(date(2026, 11, 16), weekday=False) == "16 november 2026"
    assert dutch_time(time(7, 30)) == "07:30"
    assert dutch_time(in_tz(datetime(2026, 11, 16, 6, 30, tzinfo=UTC), "Europe/Amsterdam")) == "07:30"


@pytest.mark.parametrize(
    ("utc", "tz", "shown"),
    [
        (datetime(2026, 11, 16, 6, 30, tzinfo=UTC), "Europe/Amsterdam", "maandag 16 november 2026 om 07:30"),
        (
            datetime(2026, 7, 3, 22, 15, tzinfo=UTC),
            "Europe/Amsterdam",
            "zaterdag 4 juli 2026 om 00:15",
        ),  # summer
        (
            datetime(2026, 11, 16, 6, 30, tzinfo=UTC),
            "America/Kralendijk",
            "maandag 16 november 2026 om 02:30",
        ),
    ],
)
def test_a_moment_in_the_campaigns_zone(utc, tz, shown):
    assert dutch_moment(utc, tz) == shown


def test_no_moment_is_a_dash():
    assert dutch_moment(None, "Europe/Amsterdam") == "-"


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, "0 antwoorden"), (1, "1 antwoord"), (2, "2 antwoorden"), (12345, "12.345 antwoorden")],
)
def test_counted_nouns_follow_the_dutch_plural(n, shown):
    assert counted(n, "antwoord", "antwoorden") == shown


@pytest.mark.parametrize(
    ("kind", "day", "name"),
    [
        ("confirm", 0, "Bevestiging"),
        ("question", 3, "Vraag 3"),
        ("followup", 1, "Vervolgmail bij vraag 1"),
        ("summary", 0, "Slotmail"),
        ("repeat", 203, "Herhaalvraag 3 (ronde 2)"),
    ],
)
def test_emails_have_dutch_names(kind, day, name):
    assert email_name(kind, day) == name


def test_statuses_have_dutch_names():
    assert participant_status_name("completed") == "quiz afgerond"
    assert participant_status_name("active") == "doet mee"
