"""Repeat questions piece by piece: the planning rule's edges, the answer
and stop pages (scanner-safe, bad input), erase and export, and the
campaign settings on the command line. The whole campaign in time travel is
tests/test_repeats_e2e.py."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from quiz.db import utcnow
from quiz.delivery.planner import local_midnight, plan
from quiz.delivery.workdays import is_working_day
from quiz.links import repeat_token, repeats_stop_token
from quiz.models import Answer, Campaign, Delivery, LinkHit, Participant, RepeatAnswer
from quiz.repeats.rules import round_deadlines, round_start, split_day
from quiz.rights import gdpr
from tests.conftest import at
from tests.engine_factories import make_question_set
from tests.factories import make_campaign, make_participant

# --- the planning rule (dates fixed; `now` is passed to the planner) ------------

# Monday 26 April 2027; King's Day on the 27th, so the week ends Monday 3 May.
QUIZ_DAYS = [date(2027, 4, 26), date(2027, 4, 28), date(2027, 4, 29), date(2027, 4, 30), date(2027, 5, 3)]


def finished_week(session, repeats: str = "all", **participant_fields):
    """A campaign and a participant whose five questions went out at 07:30 on QUIZ_DAYS."""
    created = at("2027-04-20 09:00")
    qs = make_question_set(session, created)
    campaign = make_campaign(
        session, created, question_set_id=qs.id, start_mode="fixed", start_date=QUIZ_DAYS[0], repeats=repeats
    )
    fields = {"status": "completed", "first_quiz_day": QUIZ_DAYS[0], **participant_fields}
    person = make_participant(session, campaign, created, **fields)
    for question, day in zip(qs.questions, QUIZ_DAYS, strict=True):
        moment = at(f"{day} 07:30")
        session.add(
            Delivery(participant_id=person.id, kind="question", day=question.position,
                     question_id=question.id, due_at=moment, sent_at=moment, status="sent", created_at=moment)
        )  # fmt: skip
    session.commit()
    return campaign, person, qs


def repeats_of(session, person) -> list[tuple[int, int, str]]:
    rows = session.execute(
        select(Delivery.day, Delivery.due_at, Delivery.status)
        .where(Delivery.participant_id == person.id, Delivery.kind == "repeat")
        .order_by(Delivery.day)
    ).all()
    return [(*split_day(day), status) for day, _, status in rows]


def planned(session, moment: str) -> int:
    """How many repeats one planning round at `moment` adds (the other kinds
    of email are the follow-up rules' business)."""
    return plan(session, at(moment)).planned.get("repeat", 0)


def settle_repeats(session) -> None:
    for delivery in session.scalars(
        select(Delivery).where(Delivery.kind == "repeat", Delivery.status == "pending")
    ):
        delivery.status, delivery.sent_at = "sent", delivery.due_at
    session.commit()


def test_round_deadlines_count_working_days_after_the_last_quiz_day(session):
    campaign = make_campaign(session, at("2027-04-20 09:00"), repeat_interval_days=7, repeat_max=2)
    # On Thursday 13 May, round 1 is due for a week that ended by Monday 3 May
    # (7 working days: 4, 5, 7, 10, 11, 12, 13 May; Ascension Day skipped).
    deadlines = round_deadlines(campaign, date(2027, 5, 13))
    assert deadlines[1] == at("2027-05-04 00:00")
    # Round 2 needs 14 working days: a week that ended by Wednesday 21 April.
    assert deadlines[2] == at("2027-04-22 00:00")


def test_the_calendar_and_the_planner_agree_on_when_a_round_begins(session):
    campaign = make_campaign(session, at("2027-01-01 09:00"), repeat_interval_days=3, repeat_max=3,
                             skip_dates=["2027-05-12"])  # fmt: skip
    for offset in range(120):  # every last quiz day over four months, holidays included
        last = date(2027, 3, 1) + timedelta(days=offset)
        for n in (1, 2, 3):
            start = round_start(campaign, last, n)
            assert is_working_day(start, {date(2027, 5, 12)})
            before = start - timedelta(days=1)
            while not is_working_day(before, {date(2027, 5, 12)}):
                before -= timedelta(days=1)
            went_out = local_midnight(last, campaign.timezone) + timedelta(hours=8)
            assert went_out < round_deadlines(campaign, start)[n], (last, n)
            assert not went_out < round_deadlines(campaign, before)[n], (last, n)


def test_a_round_starts_on_its_day_and_goes_one_question_a_working_day(session):
    campaign, person, _ = finished_week(session)
    assert planned(session, "2027-05-12 23:00") == 0
    assert planned(session, "2027-05-13 07:30") == 1
    assert planned(session, "2027-05-13 12:00") == 0  # one a day, even once sent
    settle_repeats(session)
    assert planned(session, "2027-05-13 18:00") == 0
    plan(session, at("2027-05-14 07:30"))
    assert repeats_of(session, person) == [(1, 1, "sent"), (1, 2, "pending")]
    due = session.scalar(select(Delivery.due_at).where(Delivery.kind == "repeat", Delivery.day == 102))
    assert due == at("2027-05-14 07:30")


def test_a_repeat_that_has_not_gone_out_holds_the_next_one_back(session):
    campaign, person, _ = finished_week(session)
    plan(session, at("2027-05-13 07:30"))
    session.execute(Delivery.__table__.update().where(Delivery.kind == "repeat").values(status="deferred"))
    session.commit()
    assert planned(session, "2027-05-14 07:30") == 0


def test_no_repeats_on_a_weekend_or_holiday(session):
    campaign, person, _ = finished_week(session)
    plan(session, at("2027-05-13 07:30"))
    settle_repeats(session)
    plan(session, at("2027-05-14 07:30"))
    settle_repeats(session)
    for moment in ("2027-05-15 09:00", "2027-05-16 09:00", "2027-05-17 09:00"):  # weekend, Whit Monday
        assert planned(session, moment) == 0, moment
    assert planned(session, "2027-05-18 07:30") == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "unsubscribed"},
        {"status": "bounced"},
        {"status": "erased", "email": None},
        {"repeats_stopped_at": at("2027-05-01 10:00")},
    ],
)
def test_who_gets_no_repeats(session, fields):
    _, person, _ = finished_week(session, **fields)
    assert planned(session, "2027-05-13 07:30") == 0
    assert repeats_of(session, person) == []


def test_a_campaign_without_repeats_plans_none(session):
    finished_week(session, repeats="none")
    assert planned(session, "2027-05-13 07:30") == 0


def test_wrong_mode_leaves_out_the_right_answers_and_a_repeat_answered_right_is_mastered(session):
    campaign, person, qs = finished_week(session, repeats="wrong")
    q = {question.position: question for question in qs.questions}
    option = {(question.position, o.label): o.id for question in qs.questions for o in question.options}
    now = at("2027-05-03 12:00")
    for position, label in ((1, "B"), (2, "A"), (3, "B"), (4, "B"), (5, "C")):  # 2 and 5 wrong
        session.add(Answer(participant_id=person.id, question_id=q[position].id,
                           option_id=option[(position, label)], answered_at=now))  # fmt: skip
    session.commit()
    plan(session, at("2027-05-13 07:30"))
    settle_repeats(session)
    session.add(RepeatAnswer(participant_id=person.id, question_id=q[2].id, round=1,
                             option_id=option[(2, "B")], answered_at=at("2027-05-13 09:00")))  # fmt: skip
    session.commit()
    for day in ("2027-05-14", "2027-05-18", "2027-05-25", "2027-05-26", "2027-05-27"):
        plan(session, at(f"{day} 07:30"))
        settle_repeats(session)
    assert repeats_of(session, person) == [(1, 2, "sent"), (1, 5, "sent"), (2, 5, "sent")]


# --- the pages (relative to now: a repeat sent an hour ago) ----------------------


@pytest.fixture
def repeat(app, session):
    """A participant whose round-1 repeat of question 1 went out an hour ago;
    in the week they chose A (wrong)."""
    now = utcnow()
    created = now - timedelta(days=30)
    qs = make_question_set(session, created)
    campaign = make_campaign(session, created, question_set_id=qs.id, repeats="all")
    person = make_participant(session, campaign, created, status="completed",
                              first_quiz_day=(created + timedelta(days=1)).date())  # fmt: skip
    q1 = qs.questions[0]
    options = {o.label: o.id for o in q1.options}
    session.add(Answer(participant_id=person.id, question_id=q1.id, option_id=options["A"],
                       answered_at=created + timedelta(days=1)))  # fmt: skip
    sent = now - timedelta(hours=1)
    session.add(Delivery(participant_id=person.id, kind="repeat", day=101, question_id=q1.id, due_at=sent,
                         sent_at=sent, status="sent", created_at=sent))  # fmt: skip
    session.commit()

    class Repeat:
        pass

    r = Repeat()
    r.person, r.qs, r.q1, r.options, r.campaign = person, qs, q1, options, campaign
    r.link = lambda label=None, round_=1: (
        "/h/" + repeat_token(person.id, q1.id, round_, options[label] if label else None)
    )
    with app.app_context():  # tokens are signed with the app's key
        yield r


def repeat_answers(session) -> list[tuple[int, int]]:
    session.expire_all()
    return session.execute(select(RepeatAnswer.round, RepeatAnswer.option_id)).all()


def test_opening_a_repeat_link_records_nothing_and_confirming_shows_both_choices(client, session, repeat):
    page = client.get(repeat.link("B"))
    assert page.status_code == 200 and "Herhaalvraag" in page.text and "Bevestig mijn antwoord" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert client.head(repeat.link("C")).status_code == 200
    assert repeat_answers(session) == []
    assert session.scalars(select(LinkHit.kind)).all() == ["repeat"]  # the GET, not the HEAD

    done = client.post(repeat.link("B"), data={"option": str(repeat.options["B"])})
    assert done.status_code == 200
    assert "Eerder koos je A, nu B." in done.text and "Goed!" in done.text
    assert "Deze vraag ken je nu." in done.text
    assert repeat_answers(session) == [(1, repeat.options["B"])]

    again = client.post(repeat.link("C"), data={"option": str(repeat.options["C"])})
    assert "Alleen je eerste antwoord telt." in again.text and "Je koos nu C" in again.text
    assert repeat_answers(session) == [(1, repeat.options["B"])]


def test_a_repeat_without_an_earlier_answer_says_so(client, session, repeat):
    session.execute(Answer.__table__.delete())
    session.commit()
    done = client.post(repeat.link(), data={"option": str(repeat.options["C"])})
    assert "Eerder gaf je geen antwoord, nu koos je C." in done.text and "Helaas" in done.text


@pytest.mark.parametrize("form", [{}, {"option": "999999"}, {"option": "abc"}, {"option": "1" * 40}])
def test_confirming_without_a_valid_option_asks_for_one(client, session, repeat, form):
    page = client.post(repeat.link(), data=form)
    assert page.status_code == 422 and "Kies eerst een antwoord." in page.text
    assert repeat_answers(session) == []


def test_a_scanner_sweep_of_the_repeat_email_records_nothing(client, session, repeat):
    hits = [client.get(repeat.link(label)) for label in "ABC"]  # every option within a second
    hit = re.search(r'name="hit" value="(\d+)"', hits[1].text).group(1)
    page = client.post(repeat.link("B"), data={"option": str(repeat.options["B"]), "hit": hit})
    assert "Voor de zekerheid: bevestig je antwoord nog een keer." in page.text
    assert repeat_answers(session) == []
    assert all(session.scalars(select(LinkHit.is_sweep)))


def test_bad_repeat_links(client, session, repeat):
    tampered = client.get(repeat.link("B")[:-3] + "xyz")
    assert tampered.status_code == 400 and "Deze antwoordlink klopt niet" in tampered.text
    # an option of another question
    other = "/h/" + repeat_token(repeat.person.id, repeat.qs.questions[1].id, 1, repeat.options["B"])
    assert client.get(other).status_code == 400
    assert client.get("/h/" + repeat_token(repeat.person.id, repeat.q1.id, 9)).status_code == 400
    # round 2 never went out
    never = client.get(repeat.link("B", round_=2))
    assert never.status_code == 410 and "Deze herhaalvraag is gesloten" in never.text
    assert (
        client.post(repeat.link("B", round_=2), data={"option": str(repeat.options["B"])}).status_code == 410
    )
    assert repeat_answers(session) == []


def test_a_repeat_closes_a_week_after_the_day_it_went_out(client, session, repeat):
    old = utcnow() - timedelta(days=9)
    session.execute(
        Delivery.__table__.update().where(Delivery.kind == "repeat").values(sent_at=old, due_at=old)
    )
    session.commit()
    page = client.post(repeat.link("B"), data={"option": str(repeat.options["B"])})
    assert page.status_code == 410 and "Deze herhaalvraag is gesloten" in page.text
    assert repeat_answers(session) == []


def test_stopping_the_repeats_keeps_the_rest(client, session, repeat):
    later = utcnow() + timedelta(days=1)
    for kind, day in (("repeat", 102), ("followup", 1)):
        session.add(Delivery(participant_id=repeat.person.id, kind=kind, day=day, question_id=repeat.q1.id,
                             due_at=later, status="pending", created_at=later))  # fmt: skip
    session.commit()
    link = "/herhaalvragen-stoppen/" + repeats_stop_token(repeat.person.id)
    page = client.get(link)
    assert page.status_code == 200 and "Stop de herhaalvragen</button>" in page.text
    session.expire_all()
    assert session.get(Participant, repeat.person.id).repeats_stopped_at is None  # a GET changes nothing

    done = client.post(link)
    assert done.status_code == 200 and "De herhaalvragen zijn gestopt" in done.text
    assert "Je bent niet afgemeld" in done.text
    session.expire_all()
    person = session.get(Participant, repeat.person.id)
    assert person.repeats_stopped_at is not None and person.status == "completed"
    statuses = dict(
        session.execute(select(Delivery.kind, Delivery.status).where(Delivery.day.in_((1, 102)))).all()
    )
    assert statuses == {"repeat": "cancelled", "followup": "pending"}
    assert client.post(link).status_code == 200  # idempotent
    # the repeat already sent can still be answered
    assert client.post(repeat.link(), data={"option": str(repeat.options["B"])}).status_code == 200


def test_bad_or_gone_stop_links(client, session, repeat):
    bad = client.post("/herhaalvragen-stoppen/" + repeats_stop_token(repeat.person.id)[:-2] + "zz")
    assert bad.status_code == 400 and "Deze link klopt niet" in bad.text
    assert client.get("/herhaalvragen-stoppen/" + repeats_stop_token(2**31 - 1)).status_code == 410
    gdpr.erase(session, repeat.person, utcnow())
    erased = client.post("/herhaalvragen-stoppen/" + repeats_stop_token(repeat.person.id))
    assert erased.status_code == 200 and "Je gegevens zijn gewist" in erased.text
    session.expire_all()
    assert session.get(Participant, repeat.person.id).repeats_stopped_at is None


def test_erase_keeps_repeat_answers_anonymously_and_closes_the_links(client, session, repeat):
    client.post(repeat.link(), data={"option": str(repeat.options["B"])})
    gdpr.erase(session, repeat.person, utcnow())
    assert repeat_answers(session) == [(1, repeat.options["B"])]  # like the week's answers: they still count
    assert session.get(Participant, repeat.person.id).email is None
    assert client.get(repeat.link("B")).status_code == 410


def test_export_lists_the_repeat_answers(client, session, repeat):
    client.post(repeat.link(), data={"option": str(repeat.options["B"])})
    session.expire_all()
    data = json.loads(json.dumps(gdpr.export_data(session, session.get(Participant, repeat.person.id))))
    assert [(a["round"], a["day"], a["answer"], a["correct"]) for a in data["repeat_answers"]] == [
        (1, 1, "B", True)
    ]


# --- the campaign settings on the command line -----------------------------------


@pytest.fixture
def question_set(session):
    return make_question_set(session, utcnow(), slug="meldcode")


def test_campaign_create_with_and_without_repeats(runner, session, question_set):
    plain = runner.invoke(args=["quiz", "campaign", "create", "plain", "--question-set", "meldcode"])
    assert plain.exit_code == 0, plain.output
    made = runner.invoke(
        args=["quiz", "campaign", "create", "herhaal", "--question-set", "meldcode",
              "--repeats", "wrong", "--repeat-interval", "5", "--repeat-max", "3"]
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    rows = dict(
        (slug, (r, i, m))
        for slug, r, i, m in session.execute(
            select(Campaign.slug, Campaign.repeats, Campaign.repeat_interval_days, Campaign.repeat_max)
        )
    )
    assert rows == {"plain": ("none", 7, 2), "herhaal": ("wrong", 5, 3)}
    shown = runner.invoke(args=["quiz", "campaign", "show", "herhaal"])
    assert (
        "repeats       wrong; round n due n * 5 working days after the last quiz day; at most 3 rounds"
        in shown.output
    )


@pytest.mark.parametrize(
    ("option", "value"), [("--repeats", "soms"), ("--repeat-interval", "0"), ("--repeat-max", "6")]
)
def test_campaign_create_refuses_bad_repeat_settings(runner, session, question_set, option, value):
    result = runner.invoke(
        args=["quiz", "campaign", "create", "x", "--question-set", "meldcode", option, value]
    )
    assert result.exit_code == 2 and "Invalid value" in result.output
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_campaign_edit_changes_only_what_is_given(runner, session, question_set):
    runner.invoke(args=["quiz", "campaign", "create", "c", "--question-set", "meldcode", "--repeat-max", "3"])
    result = runner.invoke(args=["quiz", "campaign", "edit", "c", "--repeats", "all"])
    assert result.exit_code == 0, result.output
    assert "Changed campaign 'c': repeats all;" in result.output
    session.expire_all()
    c = session.scalar(select(Campaign))
    assert (c.repeats, c.repeat_interval_days, c.repeat_max) == ("all", 7, 3)

    for args, message in (
        (["edit", "nope", "--repeats", "all"], "no campaign 'nope'"),
        (["edit", "c"], "nothing to change"),
        (["edit", "c", "--repeat-interval", "61"], "Invalid value"),
    ):
        result = runner.invoke(args=["quiz", "campaign", *args])
        assert result.exit_code == 2 and message in result.output, result.output
    session.expire_all()
    assert session.scalar(select(Campaign.repeat_interval_days)) == 7
