"""The campaign dashboard: the figures, their set-based queries, the page, retry."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from quiz.admin import figures as dashboard
from quiz.db import database, utcnow
from quiz.models import Delivery, Participant
from tests.admin_factories import answer, campaign_with_set, flashes
from tests.factories import make_participant


@contextmanager
def count_statements(app):
    statements: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):  # noqa: ANN001, PLR0913
        statements.append(statement)

    engine = database(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def delivery(session, participant, kind="question", day=1, status="sent", error=None) -> Delivery:
    row = Delivery(participant_id=participant.id, kind=kind, day=day, status=status, due_at=utcnow(),
                   created_at=utcnow(), last_error=error)  # fmt: skip
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def campaign(session):
    """Seven participants at "De Linde" (shown), two at small schools (overig),
    one pending, one unsubscribed; answers on days 1 and 2."""
    campaign, qs = campaign_with_set(session)
    q1, q2 = qs.questions[0], qs.questions[1]
    right1, right2 = q1.correct_option.label, q2.correct_option.label
    wrong1 = next(o.label for o in q1.options if not o.is_correct)
    people = []
    now = utcnow()
    for i in range(7):
        spelling = "Basisschool De Linde" if i % 2 else " basisschool de linde"
        people.append(
            make_participant(session, campaign, now, email=f"linde{i}@example.org", organisation=spelling)
        )
    people.append(
        make_participant(
            session, campaign, now, email="a@example.org", organisation="Het Anker", sector="jeugdhulp"
        )
    )
    leaver = {"organisation": "De Boog", "sector": "kinderopvang", "status": "unsubscribed"}
    people.append(make_participant(session, campaign, now, email="b@example.org", **leaver))
    make_participant(
        session, campaign, utcnow(), email="nog@example.org", status="pending", confirmed_at=None
    )
    # Day 1: 9 answers, 6 right, 3 discussed. Day 2: 5 answers, all right. 5 answered both.
    for i, person in enumerate(people):
        answer(session, person, qs, 1, right1 if i < 6 else wrong1, discussed=i < 3)
        if i < 5:
            answer(session, person, qs, 2, right2)
    delivery(session, people[0], status="failed", error="550 5.1.1 No such user")
    delivery(session, people[1], kind="confirm", day=0)
    return campaign, qs, people


def test_the_funnel_and_per_question_figures(session, campaign):
    c, qs, _ = campaign
    d = dashboard.build(session, c)
    assert (d.signed_up, d.confirmed) == (10, 9)
    assert d.answered_per_day == [9, 5, 0, 0, 0]
    assert d.completed == 0  # nobody answered all five yet
    q1 = d.questions[0]
    assert (q1.total, q1.correct, q1.percent_correct, q1.discussion_rate) == (9, 6, 67, 33)
    assert sum(q1.counts.values()) == 9
    assert d.questions[1].percent_correct == 100
    assert d.questions[2].percent_correct is None  # no answers: no percentage
    assert d.status_counts == {"active": 8, "unsubscribed": 1, "pending": 1}


def test_completed_counts_who_answered_every_question(session, campaign):
    c, qs, people = campaign
    for day in (3, 4, 5):
        answer(session, people[0], qs, day, qs.questions[day - 1].correct_option.label)
    assert dashboard.build(session, c).completed == 1


def test_sectors_and_organisations_with_small_ones_grouped(session, campaign):
    c, _, _ = campaign
    d = dashboard.build(session, c)
    sectors = {g.name: (g.participants, g.answers, g.correct) for g in d.sectors}
    assert sectors == {"Onderwijs": (7, 12, 11), "Jeugdhulp": (1, 1, 0), "Kinderopvang": (1, 1, 0)}
    organisations = [(g.name.lower(), g.participants, g.answers) for g in d.organisations]
    # " basisschool de linde" and "Basisschool De Linde" are one organisation.
    assert organisations == [("basisschool de linde", 7, 12), ("overig", 2, 2)]


def test_an_organisation_across_sectors_and_spellings_is_one(session, campaign):
    """Sectors and organisations are added up separately (GROUPING SETS on
    PostgreSQL, per pair elsewhere): one organisation typed three ways in two
    sectors is one row, shown in one spelling; no organisation or sector has a row too."""
    c, qs, _ = campaign
    q1 = qs.questions[0]
    spellings = [("Het Anker ", "jeugdhulp"), ("het anker", "onderwijs"), ("HET ANKER", "jeugdhulp")]
    for i, (spelling, sector) in enumerate([*spellings, ("Het Anker", None)]):
        person = make_participant(session, c, utcnow(), email=f"anker{i}@example.org", organisation=spelling,
                                  sector=sector)  # fmt: skip
        answer(session, person, qs, 1, q1.correct_option.label)
    for i in range(2):
        make_participant(session, c, utcnow(), email=f"leeg{i}@example.org", organisation=None, sector=None)
    d = dashboard.build(session, c)
    organisations = {g.name: (g.participants, g.answers, g.correct) for g in d.organisations}
    # "Het Anker" had one participant in the fixture, with a wrong answer: five now.
    assert organisations["HET ANKER"] == (5, 5, 4)
    assert "(niet ingevuld)" not in organisations  # two people: under "overig", with De Boog
    assert organisations["overig"] == (3, 1, 0)
    sectors = {g.name: g.participants for g in d.sectors}
    assert sectors == {"Onderwijs": 8, "Jeugdhulp": 3, "Kinderopvang": 1, "Onbekend": 3}
    assert d.completed == 0


def test_deliveries_and_failures(session, campaign):
    c, _, people = campaign
    d = dashboard.build(session, c)
    assert d.deliveries == {"question": {"failed": 1}, "confirm": {"sent": 1}}
    assert d.failed_total == 1
    assert d.failures[0]["email"] == people[0].email
    assert d.failures[0]["last_error"] == "550 5.1.1 No such user"


def test_the_number_of_queries_does_not_grow_with_participants(app, session, campaign):
    c, qs, _ = campaign
    session.expire_all()
    with count_statements(app) as few:
        dashboard.build(session, c)
    for i in range(30):
        person = make_participant(
            session, c, utcnow(), email=f"extra{i}@example.org", organisation=f"School {i}"
        )
        answer(session, person, qs, 1, qs.questions[0].correct_option.label)
    session.expire_all()
    with count_statements(app) as many:
        dashboard.build(session, c)
    assert len(many) == len(few) <= 12


def test_retry_requeues_a_failure_and_revives_a_bounced_participant(session, campaign):
    c, _, people = campaign
    failed = session.query(Delivery).filter_by(status="failed").one()
    people[0].status = "bounced"
    cancelled = delivery(session, people[0], day=2, status="cancelled", error="recipient address bounced")
    session.commit()
    assert dashboard.retry_failed(session, c.id, utcnow()) == 1
    session.expire_all()
    assert session.get(Delivery, failed.id).status == "pending"
    assert session.get(Delivery, failed.id).attempts == 0
    assert session.get(Delivery, cancelled.id).status == "pending"
    assert session.get(Participant, people[0].id).status == "active"


def test_retry_never_mails_an_unsubscribed_participant(session, campaign):
    c, _, people = campaign
    unsubscribed = people[8]
    row = delivery(session, unsubscribed, day=3, status="failed", error="451 later")
    assert dashboard.retry_failed(session, c.id, utcnow(), delivery_id=row.id) == 0
    session.expire_all()
    assert session.get(Delivery, row.id).status == "failed"


def test_the_dashboard_page_reads_at_a_glance(admin, campaign):
    c, qs, people = campaign
    page = admin.get(f"/admin/campagnes/{c.id}").text
    assert '<span class="kpi-value">10</span> aangemeld' in page
    assert '<span class="kpi-value">9</span> bevestigd' in page
    # The funnel chart, with its text alternative.
    assert 'role="img" aria-labelledby="trechter-title trechter-desc"' in page
    assert "Aangemeld: 10; Bevestigd: 9; Dag 1 beantwoord: 9; Dag 2 beantwoord: 5;" in page
    # Per question: % correct and discussion rate; the correct option is marked in words.
    assert "67 %" in page and "33 %" in page
    correct = qs.questions[0].correct_option
    assert f"{correct.label}. {correct.text}: 67 % (6) (goed antwoord)" in page
    assert "Organisaties met minder dan 5 deelnemers staan samen onder “overig”." in page
    assert "550 5.1.1 No such user" in page and people[0].email in page


def test_answer_counts_are_singular_for_one(admin, session):
    """Issue 19 item 4: the dashboard said "1 antwoorden"."""
    c, qs = campaign_with_set(session)
    person = make_participant(session, c, utcnow(), email="een@example.org")
    answer(session, person, qs, 1, qs.questions[0].correct_option.label)
    page = " ".join(admin.get(f"/admin/campagnes/{c.id}").text.split())
    assert "1 antwoord · 100 % goed" in page
    assert "0 antwoorden · nog geen antwoorden" in page
    assert "1 antwoorden" not in page


def test_the_retry_button(admin, session, campaign):
    c, _, _ = campaign
    failed = session.query(Delivery).filter_by(status="failed").one()
    response = admin.post(f"/admin/campagnes/{c.id}/opnieuw-versturen", {"delivery": str(failed.id)})
    assert response.status_code == 303
    assert (
        "1 e-mail staat klaar om opnieuw te versturen. De planner verstuurt hem"
        in flashes(admin.get(f"/admin/campagnes/{c.id}").text)[0]
    )
    session.expire_all()
    assert session.get(Delivery, failed.id).status == "pending"
    again = admin.post(f"/admin/campagnes/{c.id}/opnieuw-versturen", {"delivery": "not-a-number"})
    assert again.status_code == 303  # nothing to do, no error
    assert "Er was niets om opnieuw te versturen" in flashes(admin.get(f"/admin/campagnes/{c.id}").text)[0]


def test_the_dashboard_shows_the_biggest_organisations_and_links_to_all(admin, session):
    c, _ = campaign_with_set(session)
    now = utcnow()
    session.add_all(
        Participant(campaign_id=c.id, email=f"p{org}-{i}@example.org", organisation=f"School {org:02d}",
                    sector="onderwijs", status="active", created_at=now, confirmed_at=now, consent_at=now)
        for org in range(21)
        for i in range(5 + org)
    )  # fmt: skip
    session.commit()
    page = admin.get(f"/admin/campagnes/{c.id}").text
    assert "<td>School 20</td>" in page and "<td>School 01</td>" in page
    assert "<td>School 00</td>" not in page  # the smallest of 21 is left for the full list
    assert "Alle 21 organisaties" in page
    full = admin.get(f"/admin/campagnes/{c.id}/organisaties").text
    assert full.count("<tr><td>School ") == 21
