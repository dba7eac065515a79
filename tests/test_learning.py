"""The retention figure on the dashboard (issue 21, item 2): first attempt
against each participant's first answered repeat, per question, overall and
per sector, with the dashboard's k-anonymity rule (groups under 5 people)."""

from __future__ import annotations

import re

import pytest

from quiz.admin import learning
from quiz.admin.figures import campaign_questions
from quiz.db import utcnow
from tests.admin_factories import answer, campaign_with_set, repeat_answer
from tests.factories import make_campaign, make_participant

# Question 1's correct option is B, question 2's is C; A is wrong on both.
# Per person on question 1: (sector, first answer, {round: repeat answer}).
QUESTION_1 = {
    "o1": ("onderwijs", "B", {1: "B"}),
    "o2": ("onderwijs", "B", {1: "A", 2: "B"}),  # round 1 counts, not the better round 2
    "o3": ("onderwijs", "A", {1: "B"}),
    "o4": ("onderwijs", "A", {1: "B"}),
    "o5": ("onderwijs", "A", {1: "B"}),
    "o6": ("onderwijs", "A", {2: "B"}),  # skipped round 1: round 2 is their first repeat answer
    "j1": ("jeugdhulp", "A", {1: "B"}),
    "j2": ("jeugdhulp", "A", {1: "B"}),
    "k1": ("kinderopvang", "A", {1: "A"}),
}


@pytest.fixture
def campaign(session):
    """QUESTION_1; o1 and o2 also got question 2 right twice. Not counted:
    x1 answered only the repeat (no first attempt), and a participant of
    another campaign."""
    campaign, qs = campaign_with_set(session, repeats="all")
    people = {}
    for name, (sector, first, repeats) in QUESTION_1.items():
        person = make_participant(session, campaign, utcnow(), email=f"{name}@example.org", sector=sector)
        people[name] = person
        answer(session, person, qs, 1, first)
        for round_, label in repeats.items():
            repeat_answer(session, person, qs, 1, label, round_)
    for name in ("o1", "o2"):
        answer(session, people[name], qs, 2, "C")
        repeat_answer(session, people[name], qs, 2, "C")
    x1 = make_participant(session, campaign, utcnow(), email="x1@example.org")
    repeat_answer(session, x1, qs, 1, "B")
    elsewhere = make_campaign(session, utcnow(), slug="elders", question_set_id=qs.id)
    stranger = make_participant(session, elsewhere, utcnow(), email="o1@example.org")
    answer(session, stranger, qs, 1, "A")
    repeat_answer(session, stranger, qs, 1, "B")
    return campaign, qs


def figures(session, campaign):
    return learning.retention(session, campaign, campaign_questions(session, campaign))


def test_per_question_and_overall(session, campaign):
    """By hand. Question 1: 9 pairs (o1..o6, j1, j2, k1); first attempt right:
    o1, o2 = 2 → 22 %; first repeat right: o1, o3, o4, o5, o6, j1, j2 = 7 →
    78 % (o2's round 1 was wrong); +56 points.
    Question 2: 2 pairs (o1, o2), under 5 people: no percentages.
    Overall: 11 pairs of 9 people; first 2+2 = 4 → 36 %; repeat 7+2 = 9 → 82 %."""
    c, _ = campaign
    r = figures(session, c)
    q1, q2 = r.questions[0][1], r.questions[1][1]
    assert (q1.participants, q1.pairs, q1.first_correct, q1.repeat_correct) == (9, 9, 2, 7)
    assert (q1.first_percent, q1.repeat_percent, q1.change) == (22, 78, 56)
    assert (q2.participants, q2.first_correct, q2.repeat_correct) == (2, 2, 2)
    assert not q2.shown and q2.first_percent is None and q2.change is None
    assert r.questions[2][1].pairs == 0
    o = r.overall
    assert (o.participants, o.pairs, o.first_correct, o.repeat_correct) == (9, 11, 4, 9)
    assert (o.first_percent, o.repeat_percent, o.change) == (36, 82, 46)


def test_per_sector_small_ones_together_and_hidden(session, campaign):
    """Onderwijs: 6 people, 8 pairs; first 4 (50 %), repeat 7 (88 %).
    Jeugdhulp (2) and kinderopvang (1) are under 5: together "overig", 3
    people, still under 5, so no percentages either."""
    c, _ = campaign
    sectors = {s.name: s for s in figures(session, c).sectors}
    assert list(sectors) == ["Onderwijs", "overig"]
    onderwijs, overig = sectors["Onderwijs"], sectors["overig"]
    assert (onderwijs.participants, onderwijs.pairs, onderwijs.first_percent, onderwijs.repeat_percent) == (
        6, 8, 50, 88,
    )  # fmt: skip
    assert (overig.participants, overig.pairs, overig.first_correct, overig.repeat_correct) == (3, 3, 0, 2)
    assert overig.first_percent is None and overig.repeat_percent is None


def test_a_campaign_without_repeats_has_no_figure(session):
    c, qs = campaign_with_set(session)
    person = make_participant(session, c, utcnow())
    answer(session, person, qs, 1, "B")
    r = figures(session, c)
    assert not r.any and r.sectors == [] and r.overall.first_percent is None


def cells(html: str, row_header: str) -> list[str]:
    """The text of the cells in the table row whose header is `row_header`."""
    row = re.search(r"<tr><th scope=\"row\">" + re.escape(row_header) + r"</th>(.*?)</tr>", html, re.S)
    assert row, row_header
    return [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]


def test_the_dashboard_shows_it(admin, campaign):
    c, qs = campaign
    html = admin.get(f"/admin/campagnes/{c.id}").text
    assert "Onthouden: eerste poging en herhaling" in html
    assert "eerste herhaling die hij of zij beantwoordde" in html
    title1, title2 = qs.questions[0].title, qs.questions[1].title
    assert cells(html, f"1. {title1}") == ["9", "22 % (2 van 9)", "78 % (7 van 9)", "+56 procentpunt"]
    assert cells(html, f"2. {title2}") == ["2", "Te weinig deelnemers (minder dan 5)"]
    assert cells(html, "Alle vragen samen") == ["9", "36 % (4 van 11)", "82 % (9 van 11)", "+46 procentpunt"]
    assert cells(html, "Onderwijs") == ["6", "50 % (4 van 8)", "88 % (7 van 8)", "+38 procentpunt"]
    assert cells(html, "overig") == ["3", "Te weinig deelnemers (minder dan 5)"]


def test_the_dashboard_says_when_there_are_no_repeats(admin, session):
    c, _ = campaign_with_set(session)
    html = admin.get(f"/admin/campagnes/{c.id}").text
    assert "Deze campagne stuurt geen herhaalvragen." in html


def test_statements_do_not_grow_with_participants(app, session, campaign):
    from tests.test_dashboard import count_statements

    c, qs = campaign
    questions = campaign_questions(session, c)
    with count_statements(app) as few:
        learning.retention(session, c, questions)
    for i in range(10):
        person = make_participant(session, c, utcnow(), email=f"extra{i}@example.org", sector="justitie")
        answer(session, person, qs, 1, "A")
        repeat_answer(session, person, qs, 1, "B")
    with count_statements(app) as many:
        assert learning.retention(session, c, questions).overall.participants == 19
    queries = [s for s in many if not s.startswith("SET ")]  # PostgreSQL's work_mem for the transaction
    assert len(many) == len(few) and len(queries) == 1
