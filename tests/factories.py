"""Small builders for rows the tests need."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz.delivery.workdays import first_working_day_on_or_after
from quiz.models import Campaign, Participant

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def make_campaign(session: Session, now: datetime, **fields: Any) -> Campaign:
    values: dict[str, Any] = {
        "slug": "test",
        "name": "MeldcodeQuiz test",
        "start_mode": "rolling",
        "send_time": time(7, 30),
        "followup_time": time(15, 0),
        "timezone": "Europe/Amsterdam",
        "skip_dates": [],
        "created_at": now,
    }
    # The first campaign is the public one (served at `/`), as an organiser
    # would choose; later ones are not, unless a test says so.
    values["public"] = session.scalar(select(Campaign.id).where(Campaign.public.is_(True))) is None
    values.update(fields)
    campaign = Campaign(**values)
    session.add(campaign)
    session.commit()
    return campaign


def make_participant(
    session: Session, campaign: Campaign, now: datetime, email: str = "deelnemer@example.org", **fields: Any
) -> Participant:
    values: dict[str, Any] = {
        "campaign": campaign,
        "email": email,
        "organisation": "Basisschool De Linde",
        "sector": "onderwijs",
        "status": "active",
        "created_at": now,
        "consent_at": now,
        "consent_version": "test",
        "confirmed_at": now,
        # The first working day from `now` on: a participant's links work
        # for weeks after it, whatever date the suite runs on.
        "first_quiz_day": first_working_day_on_or_after(now.astimezone(AMSTERDAM).date()),
    }
    values.update(fields)
    participant = Participant(**values)
    session.add(participant)
    session.commit()
    return participant
