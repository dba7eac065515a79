"""Scheduling rules: when a participant's quiz starts and which deliveries are due.

Pure rules take `now`; their docstrings state the rule.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from quiz.models import Campaign
from quiz.workdays import first_working_day_on_or_after, next_working_day, parse_skip_dates


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def send_slot(campaign: Campaign, day: date) -> datetime:
    """The moment (aware) of the campaign's send time on `day`, local time."""
    return datetime.combine(day, campaign.send_time, tzinfo=ZoneInfo(campaign.timezone))


def first_quiz_day(campaign: Campaign, confirmed_at: datetime) -> date:
    """The participant's first quiz day (question 1).

    fixed:   who confirms before the first send slot of the start date starts on
             the first working day on or after the start date; a later joiner
             starts on the next working day after confirming.
    rolling: the next working day after the local day of confirmation.
    """
    skips = parse_skip_dates(campaign.skip_dates or ())
    if campaign.start_mode == "fixed" and campaign.start_date is not None:
        start = first_working_day_on_or_after(campaign.start_date, skips)
        if confirmed_at < send_slot(campaign, start):
            return start
    return next_working_day(local_date(confirmed_at, campaign.timezone), skips)
