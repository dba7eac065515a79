"""A whole campaign with repeat questions (herhaalvragen), in time travel
(time-machine) through the real planner, templates, pages and SMTP server.

Calendar (2027), campaign 'wrong' (only wrong or unanswered questions come
back), interval 7 working days, 2 rounds, Wednesday 19 May a skip date:
- The quiz starts Monday 26 April; Tuesday 27 April is King's Day, so the
  questions go out on 26, 28, 29, 30 April and Monday 3 May (the last quiz day).
- Round 1 is due 7 working days after 3 May, skipping Ascension Day (Thursday
  6 May): Thursday 13 May. One repeat per working day: 13, 14, then (weekend,
  Whit Monday 17 May) 18, (skip date) 20, 21 May.
- Round 2 is due 14 working days after 3 May: Wednesday 26 May.

People: goed answers everything right (gets no repeats); deels gets two
wrong and leaves one open; niets answers nothing; stopper answers nothing
and stops the repeats from the first repeat email; afgemeld unsubscribes
and gewist erases their data during the week.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from quiz.answering.answers import record_answer
from quiz.delivery.sender import plan_due, send_due
from quiz.delivery.workdays import is_working_day
from quiz.models import Delivery, Participant, RepeatAnswer
from quiz.rights import gdpr
from tests.conftest import at
from tests.engine_factories import make_question_set
from tests.factories import make_campaign, make_participant

AMS = ZoneInfo("Europe/Amsterdam")
TICKS = ("07:30", "12:00", "15:00", "23:59")
START = date(2027, 4, 26)
END = date(2027, 6, 11)
d = lambda month, day: date(2027, month, day)  # noqa: E731


def kind_of(m: EmailMessage) -> tuple[str, int]:
    subject = m["Subject"]
    if found := re.fullmatch(r"Vraag (\d) van 5: .+", subject):
        return "question", int(found.group(1))
    if found := re.fullmatch(r"Herhaalvraag: Vraag (\d)", subject):
        return "repeat", int(found.group(1))
    if re.fullmatch(r"Praat erover met je team: Vraag \d", subject):
        return "followup", 0
    if subject.endswith("je uitslag en alle vragen op een rij"):
        return "summary", 0
    raise AssertionError(f"unexpected email {subject!r}")


def sent_on(m: EmailMessage) -> date:
    return parsedate_to_datetime(m["Date"]).astimezone(AMS).date()


def text(m: EmailMessage) -> str:
    return m.get_body(("plain",)).get_content().replace("\r\n", "\n")


def option_link(m: EmailMessage, label: str) -> str:
    found = re.search(rf"^{label}\. .+\n   (http://quiz\.test/\S+)$", text(m), re.MULTILINE)
    assert found, text(m)
    return found.group(1).removeprefix("http://quiz.test")


def link_after(m: EmailMessage, words: str) -> str:
    found = re.search(rf"{re.escape(words)}[\s\S]*?(http://quiz\.test/\S+)", text(m))
    assert found, text(m)
    return found.group(1).removeprefix("http://quiz.test")


class Run:
    def __init__(self, app, session, smtp, client) -> None:
        self.app, self.session, self.smtp, self.client = app, session, smtp, client
        self.pages: dict[str, str] = {}  # what the participants saw, by name

    def mail(self, who: str, kind: str | None = None) -> list[EmailMessage]:
        found = [m for m in self.smtp.messages if m["To"].addresses[0].addr_spec == f"{who}@example.org"]
        return [m for m in found if kind is None or kind_of(m)[0] == kind]

    def timeline(self, who: str, kind: str) -> list[tuple[date, int]]:
        return [(sent_on(m), kind_of(m)[1]) for m in self.mail(who, kind)]

    def answer_repeat(self, who: str, position: int, label: str, round_: int = 1) -> str:
        """Tap an option in the repeat email (GET: confirm page), then press the button (POST)."""
        m = [m for m in self.mail(who, "repeat") if kind_of(m)[1] == position][round_ - 1]
        link = option_link(m, label)
        page = self.client.get(link)
        assert page.status_code == 200 and "Bevestig mijn antwoord" in page.text
        option = re.search(r'value="(\d+)" checked', page.text).group(1)
        hit = re.search(r'name="hit" value="(\d+)"', page.text).group(1)
        done = self.client.post(link, data={"option": option, "hit": hit})
        assert done.status_code == 200
        return done.text


@pytest.fixture
def run(app, session, smtp):
    created = at("2027-04-20 09:00")
    qs = make_question_set(session, created)
    campaign = make_campaign(
        session, created, slug="herhaal", question_set_id=qs.id, start_mode="fixed", start_date=START,
        repeats="wrong", repeat_interval_days=7, repeat_max=2, skip_dates=["2027-05-19"],
    )  # fmt: skip
    people = {
        name: make_participant(
            session, campaign, created, f"{name}@example.org", name=name, first_quiz_day=START
        )
        for name in ("goed", "deels", "niets", "stopper", "afgemeld", "gewist")
    }
    questions = {q.position: q for q in qs.questions}
    option = {(q.position, o.label): o.id for q in qs.questions for o in q.options}
    client = app.test_client()
    r = Run(app, session, smtp, client)

    def week_answer(name: str, position: int, label: str, when: datetime) -> None:
        record_answer(session, people[name].id, questions[position].id, option[(position, label)], when)

    def during(day: date, now: datetime) -> None:
        """What the participants do on `day`, after the tick at `now`."""
        hhmm = now.astimezone(AMS).strftime("%H:%M")
        if hhmm != "12:00":
            return
        asked = {kind_of(m)[1] for m in r.mail("goed", "question") if sent_on(m) == day}
        for k in asked:  # the week: goed all right; deels 2 and 4 wrong, 5 open
            week_answer("goed", k, "B", now)
            if k != 5:
                week_answer("deels", k, "A" if k in (2, 4) else "B", now)
        if day == d(4, 28):
            # afgemeld presses the unsubscribe button; gewist erases their data
            page = r.client.post(link_after(r.mail("afgemeld", "question")[0], "Geen e-mails meer?"))
            assert page.status_code == 200
            gdpr.erase(session, session.get(Participant, people["gewist"].id), now)
        if day == d(5, 13):
            stop = link_after(r.mail("stopper", "repeat")[0], "Geen herhaalvragen meer?")
            r.pages["stop-get"] = r.client.get(stop).text  # a GET (a scanner's) stops nothing
            r.pages["stop-post"] = r.client.post(stop).text
        if day == d(5, 14):
            r.pages["deels-2"] = r.answer_repeat("deels", 2, "B")  # mastered
        if day == d(5, 18):
            r.pages["deels-4"] = r.answer_repeat("deels", 4, "C")  # wrong again
        if day == d(5, 26):
            r.pages["deels-4-round-2"] = r.answer_repeat("deels", 4, "B", round_=2)

    with time_machine.travel(at(f"{START} 06:00"), tick=False) as traveller:
        day = START
        while day <= END:
            for hhmm in TICKS:
                now = at(f"{day} {hhmm}")
                traveller.move_to(now)
                plan_due(app, now)
                send_due(app, lambda now=now: now, "repeats-e2e")
                during(day, now)
            day += timedelta(days=1)
    r.people = people
    return r


@pytest.mark.slow
def test_repeats_over_six_weeks(run, session):
    # The week: King's Day (27 April) is skipped.
    assert [day for day, _ in run.timeline("niets", "question")] == [
        d(4, 26),
        d(4, 28),
        d(4, 29),
        d(4, 30),
        d(5, 3),
    ]

    # goed had everything right: no repeats ('wrong' mode).
    assert run.mail("goed", "repeat") == []

    # niets: round 1 from 13 May, one a working day (Whit Monday and the skip
    # date left out), all five questions; round 2 from 26 May, all five again
    # (nothing mastered).
    assert run.timeline("niets", "repeat") == [
        (d(5, 13), 1), (d(5, 14), 2), (d(5, 18), 3), (d(5, 20), 4), (d(5, 21), 5),
        (d(5, 26), 1), (d(5, 27), 2), (d(5, 28), 3), (d(5, 31), 4), (d(6, 1), 5),
    ]  # fmt: skip

    # deels: round 1 = the wrong ones (2, 4) and the open one (5); round 2
    # leaves out 2, mastered on its repeat, and 4 comes once more.
    assert run.timeline("deels", "repeat") == [
        (d(5, 13), 2), (d(5, 14), 4), (d(5, 18), 5), (d(5, 26), 4), (d(5, 27), 5),
    ]  # fmt: skip

    # stopper got the first repeat only; afgemeld and gewist got nothing after leaving.
    assert run.timeline("stopper", "repeat") == [(d(5, 13), 1)]
    for gone in ("afgemeld", "gewist"):
        assert run.mail(gone, "repeat") == []
        assert all(sent_on(m) <= d(4, 28) for m in run.mail(gone)), gone

    # One quiz email a day (questions and repeats together), none on a
    # weekend or public holiday, no email twice.
    for who in ("goed", "deels", "niets", "stopper"):
        quiz_days = Counter(sent_on(m) for m in run.mail(who) if kind_of(m)[0] in ("question", "repeat"))
        assert max(quiz_days.values()) == 1, who
        days = Counter(sent_on(m) for m in run.mail(who))
        assert all(is_working_day(day, {d(5, 19)}) for day in days), who
    sent = Counter((m["To"].addresses[0].addr_spec, m["Subject"], sent_on(m)) for m in run.smtp.messages)
    assert sent.most_common(1)[0][1] == 1
    session.expire_all()
    repeat_times = session.scalars(select(Delivery.due_at).where(Delivery.kind == "repeat")).all()
    assert {t.astimezone(AMS).strftime("%H:%M") for t in repeat_times} == {"07:30"}


@pytest.mark.slow
def test_repeat_email_and_what_the_participant_sees(run, session):
    first = run.mail("niets", "repeat")[0]
    body = text(first)
    assert first["Subject"] == "Herhaalvraag: Vraag 1"
    assert "Weet je het nog?" in body and "Wat doe je bij situatie 1?" in body
    assert re.search(r"^B\. Antwoord B\n   http://quiz\.test/h/\S+$", body, re.MULTILINE)
    assert "Geen herhaalvragen meer? Stop de herhaalvragen" in body
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # still a real unsubscribe too

    # The feedback shows the earlier choice next to the new one.
    assert "Eerder koos je A, nu B." in run.pages["deels-2"] and "Goed!" in run.pages["deels-2"]
    assert "Eerder koos je A, nu C." in run.pages["deels-4"] and "Helaas" in run.pages["deels-4"]
    assert "Eerder koos je C, nu B." in run.pages["deels-4-round-2"]  # round 1's choice, not the week's
    session.expire_all()
    rounds = session.execute(
        select(RepeatAnswer.round, RepeatAnswer.question_id).where(
            RepeatAnswer.participant_id == run.people["deels"].id
        )
    ).all()
    assert len(rounds) == 3

    # Stopping: the GET shows a button, the POST stops the repeats, not the rest.
    assert "Stop de herhaalvragen</button>" in run.pages["stop-get"]
    assert "De herhaalvragen zijn gestopt" in run.pages["stop-post"]
    stopper = session.get(Participant, run.people["stopper"].id)
    assert stopper.repeats_stopped_at is not None and stopper.status == "completed"


@pytest.mark.slow
def test_leaving_participants_get_nothing_and_the_erased_keep_no_address(run, session):
    session.expire_all()
    afgemeld = session.get(Participant, run.people["afgemeld"].id)
    gewist = session.get(Participant, run.people["gewist"].id)
    assert afgemeld.status == "unsubscribed" and gewist.status == "erased" and gewist.email is None
    planned = session.scalars(
        select(Delivery.kind).where(
            Delivery.participant_id.in_([afgemeld.id, gewist.id]), Delivery.status == "sent"
        )
    ).all()
    assert "repeat" not in planned
