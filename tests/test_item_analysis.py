"""Item analysis per question and per version of the set (issue 21, item 3):
facility, point-biserial discrimination, options and their flags, checked
against a case worked out by hand; the minimum number of participants; the page."""

from __future__ import annotations

import math
import statistics

import pytest

from quiz.admin import item_analysis
from quiz.admin.item_analysis import ItemAnalysis, analyse_set, point_biserial
from quiz.db import utcnow
from quiz.questionsets.store import import_set
from tests.admin_factories import answer, campaign_with_set, import_meldcode
from tests.factories import make_campaign, make_participant

# Per person: the option chosen on question 1, then right (1) or wrong (0) on questions 2..5.
HAND_CASE = {
    "p1": ("B", [1, 1, 1, 1]),
    "p2": ("B", [1, 1, 1, 0]),
    "p3": ("B", [1, 1, 0, 0]),
    "p4": ("A", [1, 1, 1, 1]),
    "p5": ("C", [1, 0, 0, 0]),
    "p6": ("C", [0, 0, 0, 0]),
}


def wrong_label(question) -> str:
    return next(o.label for o in question.options if not o.is_correct)


@pytest.fixture
def hand_case(session):
    """The six people of HAND_CASE answered all five questions of the shipped
    set (question 1's correct option is B); p6 did so in a second campaign with
    the same version of the set. p7 answered question 1 only and is left out."""
    campaign, qs = campaign_with_set(session)
    other = make_campaign(session, utcnow(), slug="tweede", question_set_id=qs.id)
    for name, (first, rest) in HAND_CASE.items():
        person = make_participant(session, other if name == "p6" else campaign, utcnow(),
                                  email=f"{name}@example.org")  # fmt: skip
        answer(session, person, qs, 1, first)
        for day, right in enumerate(rest, start=2):
            question = qs.questions[day - 1]
            answer(
                session, person, qs, day, question.correct_option.label if right else wrong_label(question)
            )
    answer(session, make_participant(session, campaign, utcnow(), email="p7@example.org"), qs, 1, "A")
    return campaign, qs


def test_question_one_against_the_hand_calculation(session, hand_case):
    """Question 1 (correct: B), worked out by hand.

    Complete answer sets: p1..p6 (p7 answered one question): N = 6.
    Rest-score y = right answers on questions 2..5:
        p1 B 4 · p2 B 3 · p3 B 2 · p4 A 4 · p5 C 1 · p6 C 0
    Facility: 3 of 6 chose B = 0.50.
    Σy = 4+3+2+4+1+0 = 14, mean 14/6 = 2.333
    Σy² = 16+9+4+16+1+0 = 46, variance 46/6 − (14/6)² = 7.667 − 5.444 = 2.222,
    s = √2.222 = 1.491 (population: divided by N)
    M1 (chose B) = (4+3+2)/3 = 3; M0 (did not) = (4+1+0)/3 = 1.667
    p = q = 3/6 = 0.5, √(pq) = 0.5
    r_pb = (M1 − M0)/s · √(pq) = 1.333/1.491 · 0.5 = 0.894 · 0.5 = 0.447 (= 1/√5)
    Options: A 1 (17 %, mean rest 4), B 3 (50 %, 3), C 2 (33 %, 0.5), D 0.
    Flags: A is wrong but its mean rest 4 ≥ B's 3 (strong participants pick
    it); D: nobody picks it; C is an honest distractor (weak participants).
    """
    analysis = analyse_set(session, hand_case[1], min_answers=5)
    assert analysis.complete == 6
    q1 = analysis.items[0]
    assert q1.shown and q1.participants == 6
    assert q1.facility == 0.5
    assert q1.discrimination == pytest.approx(1 / math.sqrt(5))
    # The same number as Pearson's r of the 0/1 item with the rest-score.
    assert q1.discrimination == pytest.approx(statistics.correlation([1, 1, 1, 0, 0, 0], [4, 3, 2, 4, 1, 0]))
    options = {o.option.label: (o.chosen, o.share, o.mean_rest) for o in q1.options}
    assert options == {
        "A": (1, pytest.approx(1 / 6), 4.0),
        "B": (3, 0.5, 3.0),
        "C": (2, pytest.approx(1 / 3), 0.5),
        "D": (0, 0.0, None),
    }
    flags = {o.option.label: o.flag for o in q1.options}
    assert flags == {"A": item_analysis.STRONG, "B": None, "C": None, "D": item_analysis.NOBODY}
    assert q1.discrimination_verdict.startswith("Goed")


def test_question_five_by_hand_too(session, hand_case):
    """Question 5 (correct: B): right for p1 and p4 only.

    Rest-score = right answers on questions 1..4:
        p1 1+1+1+1 = 4 · p2 1+1+1+1 = 4 · p3 1+1+1+0 = 3 · p4 0+1+1+1 = 3 ·
        p5 0+1+0+0 = 1 · p6 0+0+0+0 = 0
    Facility 2/6 = 0.333. Σy = 15, Σy² = 16+16+9+9+1+0 = 51,
    variance 51/6 − 2.5² = 8.5 − 6.25 = 2.25, s = 1.5.
    M1 (p1, p4) = (4+3)/2 = 3.5; M0 = (4+3+1+0)/4 = 2; √(pq) = √(2/9) = 0.471
    r_pb = 1.5/1.5 · 0.471 = 0.471. The four wrong answers all chose the first
    wrong option, A: 4 people, mean rest 2 < 3.5; C and D nobody.
    """
    q5 = analyse_set(session, hand_case[1], min_answers=5).items[4]
    assert q5.question.correct_option.label == "B"
    assert q5.facility == pytest.approx(1 / 3)
    assert q5.discrimination == pytest.approx(math.sqrt(2 / 9))
    assert {o.option.label: o.mean_rest for o in q5.options} == {"A": 2.0, "B": 3.5, "C": None, "D": None}
    assert [o.option.label for o in q5.flagged] == ["C", "D"]


def test_figures_only_from_the_minimum(session, hand_case):
    """Six complete answer sets are below MIN_ITEM_ANSWERS (30): no figures shown."""
    assert item_analysis.MIN_ITEM_ANSWERS == 30
    q1 = analyse_set(session, hand_case[1]).items[0]
    assert q1.participants == 6 and not q1.shown


def test_each_version_of_the_set_has_its_own_analysis(session, hand_case):
    """Answers to version 1 do not count for version 2 (its questions are other rows)."""
    _, v1 = hand_case
    v2 = import_set(session, _meldcode_data(), utcnow(), new_version=True).question_set
    assert v2.version == 2
    assert analyse_set(session, v2, min_answers=1).complete == 0
    assert analyse_set(session, v1, min_answers=1).complete == 6


def _meldcode_data():
    from quiz.questionsets import validate_bytes
    from tests.admin_factories import MELDCODE

    return validate_bytes(MELDCODE.read_bytes(), str(MELDCODE)).data


@pytest.mark.parametrize(
    ("n", "n_correct", "rest_sum", "rest_correct_sum", "rest_squares"),
    [
        (0, 0, 0, 0, 0),  # nobody
        (4, 4, 8, 8, 20),  # everyone correct
        (4, 0, 8, 0, 20),  # nobody correct
        (4, 2, 8, 4, 16),  # every rest-score 2: no spread
    ],
)
def test_point_biserial_is_none_where_it_is_undefined(n, n_correct, rest_sum, rest_correct_sum, rest_squares):
    assert point_biserial(n, n_correct, rest_sum, rest_correct_sum, rest_squares) is None


def test_a_negative_discrimination_says_check_the_key(session):
    qs = import_meldcode(session)
    item = ItemAnalysis(qs.questions[0], 40, 0.5, -0.12, [])
    assert "Controleer of het goede antwoord klopt" in item.discrimination_verdict


def test_a_rarely_chosen_distractor_is_flagged(session):
    """One in 40 (2.5 %) chose A: under RARE_OPTION_SHARE (5 %)."""
    qs = import_meldcode(session)
    question = qs.questions[0]
    ids = {o.label: o.id for o in question.options}
    sums = {
        ids["A"]: item_analysis.OptionSums(1, 1, 1),
        ids["B"]: item_analysis.OptionSums(30, 90, 300),
        ids["C"]: item_analysis.OptionSums(5, 5, 9),
        ids["D"]: item_analysis.OptionSums(4, 4, 6),
    }
    item = item_analysis.analyse_question(question, sums)
    assert item.shown
    assert {o.option.label: o.flag for o in item.options} == {
        "A": item_analysis.RARE.format(percent=5),
        "B": None,
        "C": None,
        "D": None,
    }


def test_the_page_names_the_method_and_hides_small_figures(admin, hand_case):
    campaign, qs = hand_case
    page = admin.get(f"/admin/vragensets/{qs.id}/itemanalyse")
    assert page.status_code == 200
    text = page.text
    assert "Itemanalyse: MeldcodeQuiz" in text
    assert "punt-biseriële correlatie" in text and "alle 5 vragen" in text
    assert "Cijfers verschijnen vanaf 30 deelnemers" in text
    assert "Te weinig deelnemers voor cijfers: 6 van de minstens 30." in text
    # Linked from the campaign's dashboard and from the set.
    assert f"/admin/vragensets/{qs.id}/itemanalyse" in admin.get(f"/admin/campagnes/{campaign.id}").text
    assert f"/admin/vragensets/{qs.id}/itemanalyse" in admin.get(f"/admin/vragensets/{qs.id}").text


def test_an_unknown_set_is_a_404(admin):
    assert admin.get("/admin/vragensets/999999/itemanalyse").status_code == 404


def test_statements_do_not_grow_with_participants(app, session, hand_case):
    """Set-based: the same statements for 6 complete answer sets as for 16."""
    from tests.test_dashboard import count_statements

    campaign, qs = hand_case
    session.expire_all()
    with count_statements(app) as few:
        analyse_set(session, qs, min_answers=5)
    for i in range(10):
        person = make_participant(session, campaign, utcnow(), email=f"extra{i}@example.org")
        for day, question in enumerate(qs.questions, start=1):
            answer(session, person, qs, day, question.correct_option.label)
    session.expire_all()
    with count_statements(app) as many:
        assert analyse_set(session, qs, min_answers=5).complete == 16
    queries = [s for s in many if not s.startswith("SET ")]  # PostgreSQL's work_mem for the transaction
    assert len(many) == len(few) and len(queries) <= 4  # the set, its questions, their options, the figures
