"""A whole campaign in time-travel with follow-ups, reminders and the summary,
through the real planner, the real templates and the real SMTP server.

Calendar (2026): the quiz starts Monday 11 May; Thursday 14 May is
Ascension Day, 16–17 May a weekend, so the five questions go out on the
11th, 12th, 13th, 15th and 18th and the summary on Tuesday the 19th.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from quiz.answering.answers import record_answer
from quiz.delivery.sender import plan_due, send_due
from quiz.delivery.workdays import is_working_day
from quiz.models import Delivery, Participant
from tests.conftest import at
from tests.engine_factories import make_question_set
from tests.factories import make_campaign, make_participant

AMS = ZoneInfo("Europe/Amsterdam")
TICKS = ("06:00", "07:30", "12:00", "14:59", "15:00", "18:00", "23:59")


def tick(app, now: datetime) -> None:
    plan_due(app, now)
    send_due(app, lambda: now, "followups-e2e")


def kind_of(m: EmailMessage) -> tuple[str, int]:
    subject = m["Subject"]
    if found := re.fullmatch(r"Vraag (\d) van 5: .+", subject):
        return "question", int(found.group(1))
    if found := re.fullmatch(r"Praat erover met je team: Vraag (\d)", subject):
        return "followup", int(found.group(1))
    if subject.endswith("je uitslag en alle vragen op een rij"):
        return "summary", 0
    raise AssertionError(f"unexpected email {subject!r}")


def sent_at(m: EmailMessage) -> datetime:
    return parsedate_to_datetime(m["Date"]).astimezone(AMS)


def text(m: EmailMessage) -> str:
    return m.get_body(("plain",)).get_content().replace("\r\n", "\n")


class Mailbox:
    def __init__(self, smtp) -> None:
        self.by_person: dict[str, list[EmailMessage]] = defaultdict(list)
        for m in smtp.messages:
            self.by_person[m["To"].addresses[0].addr_spec].append(m)

    def timeline(self, who: str, kind: str | None = None) -> list[tuple[date, str, int]]:
        out = []
        for m in self.by_person[who]:
            k, day = kind_of(m)
            if kind is None or k == kind:
                out.append((sent_at(m).date(), k, day))
        return out

    def one(self, who: str, kind: str, day: int) -> EmailMessage:
        found = [m for m in self.by_person[who] if kind_of(m) == (kind, day)]
        assert len(found) == 1, (who, kind, day, len(found))
        return found[0]


@pytest.fixture
def campaign_run(app, session, smtp):
    created = at("2026-05-01 09:00")
    qs = make_question_set(session, created)
    campaign = make_campaign(
        session, created, slug="mei", question_set_id=qs.id, start_mode="fixed", start_date=date(2026, 5, 11)
    )
    people: dict[str, Participant] = {}

    def person(email: str, organisation: str) -> Participant:
        people[email] = make_participant(
            session, campaign, created, email, name=email.split("@")[0], organisation=organisation,
            first_quiz_day=date(2026, 5, 11),
        )  # fmt: skip
        return people[email]

    person("anna@example.org", "Basisschool De Linde")
    person("bram@example.org", "Basisschool De Linde")  # never answers
    for i in range(5):  # five colleagues: enough for their organisation's figures
        person(f"ggd{i}@example.org", " GGD oost ")
    for i in range(4):  # four colleagues: too few
        person(f"klein{i}@example.org", "Kinderopvang Klein")
    questions = {q.position: q for q in qs.questions}
    option = {(q.position, o.label): o.id for q in qs.questions for o in q.options}

    def answer(email: str, position: int, label: str, when: str) -> None:
        record_answer(session, people[email].id, questions[position].id, option[(position, label)], at(when))

    # Answers happen between the ticks of their day (see `answers_on`).
    answers_on = {
        date(2026, 5, 11): [
            ("anna@example.org", 1, "B", "2026-05-11 09:00"),  # before 15:00: follow-up today
            *[(f"ggd{i}@example.org", 1, "A" if i < 4 else "B", "2026-05-11 10:00") for i in range(5)],
            *[(f"klein{i}@example.org", 1, "C", "2026-05-11 11:00") for i in range(4)],
        ],
        date(2026, 5, 12): [("anna@example.org", 2, "B", "2026-05-12 16:00")],  # after 15:00: tomorrow
        date(2026, 5, 13): [("anna@example.org", 3, "B", "2026-05-13 10:00")],  # waits behind 2
        date(2026, 5, 15): [("anna@example.org", 4, "B", "2026-05-15 20:00")],  # Friday evening
        date(2026, 5, 18): [("anna@example.org", 5, "B", "2026-05-18 08:00")],
    }
    day = date(2026, 5, 11)
    while day <= date(2026, 5, 22):
        pending = list(answers_on.get(day, []))
        for moment in TICKS:
            now = at(f"{day} {moment}")
            # answer what was answered before this tick
            while pending and at(pending[0][3]) <= now:
                answer(*pending.pop(0))
            tick(app, now)
        for item in pending:
            answer(*item)
        day += timedelta(days=1)
    return Mailbox(smtp), campaign


@pytest.mark.slow
def test_followups_go_out_at_three_on_the_day_or_the_next_working_day(campaign_run):
    mail, _ = campaign_run
    d = lambda n: date(2026, 5, n)  # noqa: E731
    assert mail.timeline("anna@example.org", "followup") == [
        (d(11), "followup", 1),  # answered 09:00 → 15:00 the same day
        (d(13), "followup", 2),  # answered 16:00 → next working day
        (d(15), "followup", 3),  # due the 13th too: one follow-up a day; the 14th is Ascension Day
        (d(18), "followup", 4),  # answered Friday evening → Monday
        (d(19), "followup", 5),  # due the 18th, where 4 went: the next working day
    ]
    for m in mail.by_person["anna@example.org"]:
        if kind_of(m)[0] in ("followup", "summary"):
            assert sent_at(m).strftime("%H:%M") == "15:00"


@pytest.mark.slow
def test_no_followup_without_an_answer_and_never_two_for_one_question(campaign_run):
    mail, _ = campaign_run
    assert mail.timeline("bram@example.org", "followup") == []
    assert [k for _, k, _ in mail.timeline("bram@example.org")] == ["question"] * 5 + ["summary"]
    for who, messages in mail.by_person.items():
        kinds = Counter(kind_of(m) for m in messages)
        assert max(kinds.values()) == 1, (who, kinds)
    assert [day for _, k, day in mail.timeline("ggd0@example.org") if k == "followup"] == [1]


@pytest.mark.slow
def test_at_most_two_emails_a_working_day_and_none_on_weekends_or_holidays(campaign_run):
    mail, _ = campaign_run
    assert len(mail.by_person) == 11
    for who, messages in mail.by_person.items():
        per_day = Counter(sent_at(m).date() for m in messages)
        assert max(per_day.values()) <= 2, (who, per_day)
        assert all(is_working_day(day) for day in per_day), (who, sorted(per_day))
    # anna's busiest days: question + follow-up, and follow-up + summary
    assert Counter(sent_at(m).date() for m in mail.by_person["anna@example.org"])[date(2026, 5, 19)] == 2


@pytest.mark.slow
def test_followup_content_and_the_organisation_threshold(campaign_run):
    mail, _ = campaign_run
    ggd = text(mail.one("ggd0@example.org", "followup", 1))
    assert "HET GOEDE ANTWOORD\nB. Antwoord B" in ggd
    assert "Bespreek dit met je team." in ggd
    # 10 answers in all: 1 B (anna) + 4 A, 1 B (GGD) + 4 C (Klein)
    assert "10 deelnemers beantwoordden deze vraag, 5 van jouw organisatie." in ggd
    assert "A. 40% van alle deelnemers, 80% in jouw organisatie" in ggd
    assert "B. 20% van alle deelnemers, 20% in jouw organisatie (goed)" in ggd
    assert "In jouw organisatie koos 80% A." in ggd
    assert re.search(r"http://quiz\.test/besproken/\S+", ggd)

    klein = text(mail.one("klein0@example.org", "followup", 1))
    assert "C. 40% van alle deelnemers (goed)" not in klein  # C is wrong
    assert "C. 40% van alle deelnemers\n" in klein
    assert "jouw organisatie" not in klein  # four colleagues answered: no figures of their own

    html = mail.one("ggd0@example.org", "followup", 1).get_body(("html",)).get_content()
    assert "Besproken in ons team" in html and "80% jouw organisatie" in html

    # Question 2 was answered by anna alone: too few for any figures.
    anna2 = text(mail.one("anna@example.org", "followup", 2))
    assert "Nog niet genoeg deelnemers" in anna2 and "%" not in anna2.split("PRAAT EROVER")[0]


@pytest.mark.slow
def test_summary_content_and_timing(campaign_run, session):
    mail, campaign = campaign_run
    anna = mail.one("anna@example.org", "summary", 0)
    assert sent_at(anna) == datetime(2026, 5, 19, 15, 0, tzinfo=AMS)
    body = text(anna)
    assert "Je had 5 van de 5 vragen goed." in body
    for k in range(1, 6):
        assert f"VRAAG {k}: Vraag {k}" in body
    assert body.count("Het goede antwoord: B. Antwoord B") == 5
    assert body.count("Omdat de meldcode dat vraagt.") == 5  # every explanation
    assert body.count("Bespreek dit met je team.") == 5  # every prompt
    assert "http://quiz.test/bespreekkaart/engine-test/1" in body
    assert "Stuur deze link door. Dan kunnen zij zich ook aanmelden:\nhttp://quiz.test/\n" in body

    bram = text(mail.one("bram@example.org", "summary", 0))
    assert "Je had 0 van de 5 vragen goed. Je beantwoordde 0 van de 5 vragen.\nHeb je een" in bram
    # completed participants got it: the planner had marked everyone completed
    session.expire_all()
    assert set(session.scalars(select(Participant.status))) == {"completed"}
    assert (
        session.scalar(select(Delivery.id).where(Delivery.kind == "summary", Delivery.status != "sent"))
        is None
    )


@pytest.mark.slow
def test_reminder_block_in_the_next_question_email(campaign_run):
    mail, _ = campaign_run
    bram3 = text(mail.one("bram@example.org", "question", 3))
    block = bram3.split("NOG NIET BEANTWOORD", 1)[1].split("Mijn quiz")[0]
    assert "Vraag 1: Vraag 1" in block and "Vraag 2: Vraag 2" in block
    assert re.search(r"http://quiz\.test/mijn-quiz/\S+/vraag/1", block)
    assert "NOG NIET BEANTWOORD" not in text(mail.one("bram@example.org", "question", 1))
    # anna answered question 1 in time: nothing to remind her of on day 2
    assert "NOG NIET BEANTWOORD" not in text(mail.one("anna@example.org", "question", 2))
    # the GGD colleagues answered 1 but not 2: day 3 lists 2 only
    ggd3 = text(mail.one("ggd0@example.org", "question", 3))
    assert "Vraag 2: Vraag 2" in ggd3 and "Vraag 1: Vraag 1" not in ggd3
