"""The campaign calendar: on which dates each day's question goes out.

Built from the engine's own rules (quiz.delivery.planner.first_quiz_day and
quiz.delivery.workdays), so the calendar shows what the scheduler will do: weekends,
Dutch public holidays and the campaign's skip dates are no quiz days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from quiz.delivery.planner import first_quiz_day, send_slot
from quiz.delivery.workdays import dutch_holiday_name, is_working_day, nth_working_day, parse_skip_dates
from quiz.formatting import dutch_time
from quiz.models import Campaign


@dataclass(frozen=True)
class CalendarDay:
    day: date
    working: bool
    holiday: str | None
    skipped: bool
    question: int | None  # which day's question goes out, if any

    @property
    def weekend(self) -> bool:
        return self.day.weekday() >= 5


def holiday_label(day: date) -> str | None:
    """The holiday's Dutch name, for the days the engine treats as holidays."""
    return dutch_holiday_name(day)


def example_confirmation(campaign: Campaign, on: date) -> datetime:
    """The moment someone who confirms on `on` confirms, for the calendar: for a
    fixed start, before the first send slot; else at noon local time."""
    zone = ZoneInfo(campaign.timezone)
    if campaign.start_mode == "fixed" and campaign.start_date is not None:
        return datetime.combine(min(on, campaign.start_date), time(0, 0), tzinfo=zone)
    return datetime.combine(on, time(12, 0), tzinfo=zone)


def quiz_days(campaign: Campaign, count: int, confirmed_at: datetime) -> list[date]:
    """The dates of questions 1..count for someone who confirmed at `confirmed_at`."""
    if count < 1:
        return []
    skips = parse_skip_dates(campaign.skip_dates or ())
    first = first_quiz_day(campaign, confirmed_at)
    return [nth_working_day(first, k, skips) for k in range(1, count + 1)]


def weeks(campaign: Campaign, days: list[date], start: date) -> list[list[CalendarDay]]:
    """Whole weeks (Monday–Sunday) from the week of `start` to the week of the last quiz day."""
    skips = parse_skip_dates(campaign.skip_dates or ())
    question_on = {d: k for k, d in enumerate(days, start=1)}
    first = start - timedelta(days=start.weekday())
    last = max([start, *days])
    last += timedelta(days=6 - last.weekday())
    out: list[list[CalendarDay]] = []
    day = first
    while day <= last:
        week = []
        for _ in range(7):
            week.append(
                CalendarDay(
                    day=day,
                    working=is_working_day(day, skips),
                    holiday=holiday_label(day),
                    skipped=day in skips,
                    question=question_on.get(day),
                )
            )
            day += timedelta(days=1)
        out.append(week)
    return out


def slot_text(campaign: Campaign, day: date) -> str:
    """'07:30' — the send time on that day, local."""
    return dutch_time(send_slot(campaign, day))
