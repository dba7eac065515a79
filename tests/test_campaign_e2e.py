"""A whole campaign in time-travel, through the real planner, the real
question email and the real SMTP server: Ascension Day in the first week, a
late joiner, a rolling start and a day the scheduler was down."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from quiz.delivery.sender import plan_due, send_due
from quiz.models import Participant
from quiz.signup.participants import confirm
from tests.answer_factories import make_question_set
from tests.conftest import at
from tests.factories import make_campaign, make_participant

AMS = ZoneInfo("Europe/Amsterdam")
DOWN = date(2026, 5, 19)  # the scheduler did not run at all this Tuesday


def tick(app, now: datetime) -> None:
    plan_due(app, now)
    send_due(app, lambda: now, "e2e")


def received(smtp) -> dict[str, list[tuple[date, int]]]:
    """Per recipient: (local date of the Date header, question day) from the emails."""
    out = defaultdict(list)
    for m in smtp.messages:
        subject = re.fullmatch(r"Vraag (\d) van 5: .+", m["Subject"])
        assert subject, m["Subject"]
        day = parsedate_to_datetime(m["Date"]).astimezone(AMS).date()
        out[m["To"].addresses[0].addr_spec].append((day, int(subject.group(1))))
    return out


@pytest.mark.slow
def test_five_day_campaign(app, session, smtp):
    created = at("2026-05-01 09:00")
    qs = make_question_set(session, created)
    # Question emails only here; tests/test_followups_e2e.py runs the summary.
    fixed = make_campaign(
        session, created, slug="mei", question_set_id=qs.id, start_mode="fixed", start_date=date(2026, 5, 11),
        summary_enabled=False,
    )  # fmt: skip
    rolling = make_campaign(
        session, created, slug="doorlopend", question_set_id=qs.id, start_mode="rolling",
        summary_enabled=False,
    )  # fmt: skip

    def join(campaign, email, name, when) -> Participant:
        p = make_participant(
            session, campaign, at(when), email, name=name, status="pending", first_quiz_day=None
        )
        confirm(session, p, at(when))
        return p

    join(fixed, "anna@example.org", "Anna de Vries", "2026-05-08 16:00")
    join(fixed, "bram@example.org", "Bram Öztürk", "2026-05-12 10:00")  # late joiner
    join(rolling, "cees@example.org", "Cees", "2026-05-15 20:00")  # rolling start: Monday 18th

    day = date(2026, 5, 11)
    while day <= date(2026, 5, 29):
        if day != DOWN:
            for moment in ("06:00", "07:30", "07:31", "13:00", "23:59"):
                tick(app, at(f"{day} {moment}"))
        day += timedelta(days=1)

    d = lambda n: date(2026, 5, n)  # noqa: E731
    got = received(smtp)
    assert got["anna@example.org"] == [(d(11), 1), (d(12), 2), (d(13), 3), (d(15), 4), (d(18), 5)]
    # late joiner: starts Wednesday; Ascension Day skipped; Tuesday 19th lost → shifted by a day
    assert got["bram@example.org"] == [(d(13), 1), (d(15), 2), (d(18), 3), (d(20), 4), (d(21), 5)]
    # rolling start on Monday 18th; the 19th lost; Whit Monday (25th) is a holiday
    assert got["cees@example.org"] == [(d(18), 1), (d(20), 2), (d(21), 3), (d(22), 4), (d(26), 5)]
    assert len({m["Message-ID"] for m in smtp.messages}) == len(smtp.messages) == 15

    # The email is personal: own name, own answer links.
    anna = [m for m in smtp.messages if "anna@" in str(m["To"])][0]
    bram = [m for m in smtp.messages if "bram@" in str(m["To"])][0]
    anna_text = anna.get_body(("plain",)).get_content()
    assert "Hallo Anna de Vries" in anna_text
    assert "Hallo Bram Öztürk" in bram.get_body(("plain",)).get_content()
    assert str(bram["To"]) == "Bram Öztürk <bram@example.org>"
    personal = r"http://quiz\.test/(?:a|mijn-quiz)/\S+"
    links = set(re.findall(personal, anna_text))
    assert len(links) == 5  # four options and "Mijn quiz"
    assert not links & set(re.findall(personal, bram.get_body(("plain",)).get_content()))

    session.expire_all()
    assert set(session.scalars(select(Participant.status))) == {"completed"}
