"""Why signup is not open, and what is true to say about the quiz then.

"Aanmelden is gesloten. De quiz is al begonnen of voorbij" was shown for a
campaign that had not opened yet and for one that closed signup before its
start date: both untrue. Each state gets its own page text
(templates/signup/closed.html); this rule decides which, from `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from quiz.delivery.planner import first_quiz_day, local_date, send_slot
from quiz.delivery.workdays import first_working_day_on_or_after, nth_working_day, parse_skip_dates
from quiz.models import Campaign


@dataclass(frozen=True)
class ClosedSignup:
    """state: 'not_yet' (opens at `opens_at`), 'before_start' (closed; a fixed
    quiz starts at `first_send`), 'running' (closed; the fixed quiz started
    at `first_send` and runs until `last_day`), 'over' (the last quiz day,
    `last_day`, has passed) or 'closed' (a rolling quiz, closed since
    `closed_at`, whose participants may still be busy: it has no common
    start)."""

    state: str
    opens_at: datetime | None = None
    closed_at: datetime | None = None
    first_send: datetime | None = None
    last_day: date | None = None


def closed_signup(campaign: Campaign, now: datetime, confirm_window: timedelta) -> ClosedSignup | None:
    """What a visitor of a campaign's signup page should read at `now`; None when signup is open.

    The quiz's last day is the campaign's `ends_on`, else the last question
    day of the last possible joiner: someone who signed up just before
    signup closed and confirmed at the end of the confirmation link's
    `confirm_window` (a fixed quiz's late joiners start after confirming).
    """
    state = campaign.signup_state(now)
    if state == "open":
        return None
    if state == "not_yet":
        return ClosedSignup("not_yet", opens_at=campaign.signup_opens_at)
    closed_at = campaign.signup_closes_at or now  # 'closed' implies a closing time
    today = local_date(now, campaign.timezone)
    skips = parse_skip_dates(campaign.skip_dates or ())
    total = len(campaign.question_set.questions) if campaign.question_set is not None else 0
    last_day = campaign.ends_on
    if last_day is None and total:
        last_day = nth_working_day(first_quiz_day(campaign, closed_at + confirm_window), total, skips)
    over = last_day is not None and today > last_day
    if campaign.start_mode == "fixed" and campaign.start_date is not None:
        first_send = send_slot(campaign, first_working_day_on_or_after(campaign.start_date, skips))
        if now < first_send:
            return ClosedSignup("before_start", closed_at=closed_at, first_send=first_send, last_day=last_day)
        state = "over" if over else "running"
        return ClosedSignup(state, closed_at=closed_at, first_send=first_send, last_day=last_day)
    if over:
        return ClosedSignup("over", closed_at=closed_at, last_day=last_day)
    return ClosedSignup("closed", closed_at=closed_at)
