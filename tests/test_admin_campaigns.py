"""Campaigns in the browser: create and edit with Dutch validation, open and
close signup, and the calendar of quiz days (weekends, holidays, skip dates)."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, time

import pytest
import time_machine
from sqlalchemy import select

from quiz.db import utcnow
from quiz.models import Campaign, Delivery
from quiz.questionsets.store import data_from_model, import_set
from tests.admin_factories import campaign_with_set, flashes, import_meldcode
from tests.conftest import at
from tests.factories import make_campaign, make_participant


def valid_form(set_id: int, **changes: str) -> dict[str, str]:
    data = {
        "name": "Week tegen Kindermishandeling 2026",
        "slug": "week-2026",
        "question_set_id": str(set_id),
        "start_mode": "fixed",
        "start_date": "2026-11-16",
        "send_time": "07:30",
        "followup_time": "15:00",
        "skip_dates": "2026-11-18\n20-11-2026",
        "signup_opens_at": "2026-11-01T09:00",
        "signup_closes_at": "2026-11-20T17:00",
        "ends_on": "",
        "followups_enabled": "y",
        "summary_enabled": "y",
        "repeats": "wrong",
        "repeat_interval_days": "7",
        "repeat_max": "2",
    }
    data.update(changes)
    return data


def test_creating_a_campaign(admin, session):
    qs = import_meldcode(session)
    response = admin.post("/admin/campagnes/nieuw", valid_form(qs.id))
    assert response.status_code == 303, response.text
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "week-2026"))
    assert campaign.question_set_id == qs.id
    assert campaign.start_mode == "fixed" and campaign.start_date == date(2026, 11, 16)
    assert campaign.send_time == time(7, 30) and campaign.followup_time == time(15, 0)
    assert campaign.skip_dates == ["2026-11-18", "2026-11-20"]
    # Local (Amsterdam) input, stored in UTC.
    assert campaign.signup_opens_at == at("2026-11-01 09:00")
    assert campaign.signup_closes_at == at("2026-11-20 17:00")
    assert campaign.followups_enabled and campaign.summary_enabled and not campaign.reminders_enabled
    assert (campaign.repeats, campaign.repeat_interval_days, campaign.repeat_max) == ("wrong", 7, 2)
    edit = admin.get(f"/admin/campagnes/{campaign.id}/bewerken").text
    assert 'value="2026-11-01T09:00"' in edit  # shown in local time again
    assert re.search(r'<input checked[^>]*value="wrong"', edit) and 'name="repeat_interval_days"' in edit


def test_a_new_campaign_form_starts_without_repeats(admin, session):
    import_meldcode(session)
    page = admin.get("/admin/campagnes/nieuw").text
    assert "Herhaalvragen" in page
    assert re.search(r'<input checked[^>]*value="none"', page)
    assert re.search(r'<input[^>]*id="repeat_interval_days"[^>]*value="7"', page)


def test_editing_the_repeats_of_a_campaign(admin, session):
    qs = import_meldcode(session)
    admin.post("/admin/campagnes/nieuw", valid_form(qs.id))
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "week-2026"))
    response = admin.post(
        f"/admin/campagnes/{campaign.id}/bewerken",
        valid_form(qs.id, repeats="all", repeat_interval_days="10", repeat_max="3"),
    )
    assert response.status_code == 303, response.text
    session.expire_all()
    assert (campaign.repeats, campaign.repeat_interval_days, campaign.repeat_max) == ("all", 10, 3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Vul een naam in."),
        ({"slug": "Week 2026"}, "Alleen kleine letters, cijfers en streepjes."),
        ({"start_date": ""}, "Een vaste start heeft een startdatum nodig."),
        ({"send_time": "half acht"}, "Vul een tijd in, bijvoorbeeld 07:30."),
        ({"skip_dates": "2026-11-18\nkerst"}, "“kerst” is geen datum."),
        ({"skip_dates": "2026-02-30"}, "is geen datum"),
        ({"signup_closes_at": "2026-10-01T09:00"}, "Het einde van de aanmelding moet na het begin liggen."),
        ({"repeats": "soms"}, "Ongeldige keuze."),
        ({"repeats": ""}, "Kies welke vragen terugkomen."),
        ({"repeat_interval_days": ""}, "Vul een aantal werkdagen in, bijvoorbeeld 7."),
        ({"repeat_interval_days": "0"}, "Kies een aantal werkdagen van 1 tot en met 60."),
        ({"repeat_interval_days": "61"}, "Kies een aantal werkdagen van 1 tot en met 60."),
        ({"repeat_interval_days": "zeven"}, "Ongeldig getal."),
        ({"repeat_max": "6"}, "Kies een aantal van 1 tot en met 5."),
    ],
)
def test_campaign_form_problems_are_dutch_and_save_nothing(admin, session, changes, message):
    qs = import_meldcode(session)
    response = admin.post("/admin/campagnes/nieuw", valid_form(qs.id, **changes))
    assert response.status_code == 422
    assert "Controleer het formulier" in response.text
    assert message in response.text
    assert session.scalar(select(Campaign.id)) is None


def test_a_taken_slug_is_refused(admin, session):
    campaign, qs = campaign_with_set(session)
    response = admin.post("/admin/campagnes/nieuw", valid_form(qs.id, slug=campaign.slug))
    assert response.status_code == 422
    assert "Deze korte naam is al in gebruik." in response.text


def test_once_questions_went_out_only_another_version_of_the_set_can_be_chosen(admin, session):
    campaign, qs = campaign_with_set(session)
    participant = make_participant(session, campaign, utcnow())
    sent = {"kind": "question", "day": 1, "status": "sent", "due_at": utcnow(), "created_at": utcnow()}
    session.add(Delivery(participant_id=participant.id, question_id=qs.questions[0].id, **sent))
    session.commit()
    other = import_set(session, dataclasses.replace(data_from_model(qs), slug="ander"), utcnow()).question_set
    newer = import_set(session, data_from_model(qs), utcnow(), new_version=True).question_set

    form = valid_form(qs.id, slug=campaign.slug, start_mode="rolling", start_date="")
    refused = admin.post(
        f"/admin/campagnes/{campaign.id}/bewerken", form | {"question_set_id": str(other.id)}
    )
    assert refused.status_code == 422
    assert "alleen nog een andere versie van dezelfde vragenset" in refused.text
    session.refresh(campaign)
    assert campaign.question_set_id == qs.id

    moved = admin.post(f"/admin/campagnes/{campaign.id}/bewerken", form | {"question_set_id": str(newer.id)})
    assert moved.status_code == 303
    session.refresh(campaign)
    assert campaign.question_set_id == newer.id


def test_open_and_close_signup(admin, session):
    campaign, _ = campaign_with_set(session)
    with time_machine.travel(at("2026-11-10 12:00"), tick=False):
        admin.login()  # a session cookie signed in the future would not be accepted
        closed = admin.post(f"/admin/campagnes/{campaign.id}/aanmelding", {"action": "close"})
        assert "Aanmelden is nu gesloten." in flashes(admin.get(closed.headers["Location"]).text)[0]
        session.refresh(campaign)
        assert campaign.signup_state(utcnow()) == "closed"
        assert "Aanmelden openen" in admin.get(f"/admin/campagnes/{campaign.id}").text
        visitor = admin.client.get("/").text  # what a visitor sees
        assert "Aanmelden is gesloten sinds dinsdag 10 november 2026 om 12:00 uur." in visitor

        admin.post(f"/admin/campagnes/{campaign.id}/aanmelding", {"action": "open"})
        session.refresh(campaign)
        assert campaign.signup_state(utcnow()) == "open"
        assert "Aanmelden is gesloten" not in admin.client.get("/").text
        assert admin.post(f"/admin/campagnes/{campaign.id}/aanmelding", {"action": "x"}).status_code == 400


def test_the_calendar_shows_quiz_days_around_holidays_and_skip_dates(admin, session):
    qs = import_meldcode(session)
    campaign = make_campaign(session, utcnow(), question_set_id=qs.id, start_mode="fixed",
                             start_date=date(2026, 12, 21), skip_dates=["2026-12-23"])  # fmt: skip
    page = admin.get(f"/admin/campagnes/{campaign.id}/kalender").text
    schedule = re.findall(r"<li>Vraag (\d): (\w+ \d+ \w+ \d+) om 07:30", page)
    assert schedule == [
        ("1", "maandag 21 december 2026"),
        ("2", "dinsdag 22 december 2026"),
        ("3", "donderdag 24 december 2026"),  # 23rd skipped
        ("4", "maandag 28 december 2026"),  # 25th, 26th holidays, then the weekend
        ("5", "dinsdag 29 december 2026"),
    ]
    assert "Feestdag: Eerste kerstdag" in page and "Feestdag: Tweede kerstdag" in page
    assert "Overgeslagen" in page
    assert "Herhaalvragen" not in page  # the campaign has none


def test_the_calendar_shows_when_the_repeat_rounds_begin(admin, session):
    qs = import_meldcode(session)
    campaign = make_campaign(session, utcnow(), question_set_id=qs.id, start_mode="fixed",
                             start_date=date(2027, 4, 26), repeats="wrong")  # fmt: skip
    page = admin.get(f"/admin/campagnes/{campaign.id}/kalender").text
    assert "Vragen die fout of niet beantwoord zijn komen terug, één per werkdag om 07:30." in page
    # Last quiz day Monday 3 May 2027 (King's Day on 27 April); 7 and 14
    # working days later, without Ascension Day and Whit Monday.
    assert re.findall(r"<li>Herhaling (\d): vanaf (\w+ \d+ \w+ \d+)</li>", page) == [
        ("1", "donderdag 13 mei 2027"),
        ("2", "dinsdag 25 mei 2027"),
    ]


def test_the_calendar_for_a_rolling_start_follows_the_confirmation_day(admin, session):
    campaign, _ = campaign_with_set(session)
    page = admin.get(
        f"/admin/campagnes/{campaign.id}/kalender", query_string={"bevestigd": "2027-04-23"}
    ).text
    # Confirmed on Friday 23 April: Monday 26, then King's Day (27th) is skipped.
    assert "Vraag 1: maandag 26 april 2027" in page
    assert "Vraag 2: woensdag 28 april 2027" in page
    assert "Feestdag: Koningsdag" in page


def test_the_campaign_list(admin, session):
    campaign, _ = campaign_with_set(session)
    make_participant(session, campaign, utcnow())
    page = admin.get("/admin/campagnes").text
    assert campaign.name in page and "open" in page
