"""My data: export (page and JSON) and erase, from the "Mijn quiz" link.

Erasure is checked the way an auditor would: every column of every table in
the database is scanned for the address, name, organisation and role.
"""

from __future__ import annotations

import json
import re
import warnings

import pytest
import time_machine
from sqlalchemy import MetaData, func, select

from quiz.db import database
from quiz.delivery.outbox import enqueue
from quiz.models import Answer, Delivery, LinkHit, Participant
from tests.answer_factories import links, make_quiz, send_question
from tests.conftest import at
from tests.factories import make_participant

MONDAY = at("2026-11-16 07:30")
TUESDAY = at("2026-11-17 07:30")
EMAIL = "sanne.devries@example.org"
PERSONAL = (EMAIL, "Sanne de Vries", "Kindcentrum Zonnebloem", "intern begeleider")


def scan_database(app, needles) -> list[str]:
    """Every (table.column) in the whole database whose value contains one of `needles`."""
    found = []
    engine = database(app).engine
    meta = MetaData()
    with warnings.catch_warnings():
        # SQLite: the index on lower(email) cannot be reflected; the columns can.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        meta.reflect(bind=engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    text = str(value).lower() if value is not None else ""
                    found += [f"{table.name}.{column}" for n in needles if n.lower() in text]
    return found


@pytest.fixture
def sanne(app, client, session, smtp):
    campaign, qs = make_quiz(session, MONDAY)
    sanne = make_participant(
        session,
        campaign,
        MONDAY,
        email=EMAIL,
        name=PERSONAL[1],
        organisation=PERSONAL[2],
        role=PERSONAL[3],
    )
    send_question(app, session, sanne, qs.questions[0], MONDAY)
    # Day 2: the relay defers it with a reply quoting the address.
    smtp.refuse[EMAIL] = f"451 4.2.1 <{EMAIL}>: mailbox busy, try later"
    send_question(app, session, sanne, qs.questions[1], TUESDAY)
    smtp.refuse.clear()
    enqueue(
        session,
        participant_id=sanne.id,
        kind="question",
        day=3,
        question_id=qs.questions[2].id,
        due_at=at("2026-11-18 07:30"),
        now=MONDAY,
    )
    session.commit()
    # She opens and answers question 1 (a link hit with her browser, then the answer).
    answer_link = next(link for link in links(smtp.messages[0]) if link.startswith("/a/"))
    with time_machine.travel(at("2026-11-16 09:00"), tick=False):
        page = client.get(answer_link, headers={"User-Agent": "Sanne's Firefox"})
        option = page.text.split('name="option" id="option-')[1].split('"')[0]
        assert client.post(answer_link, data={"option": option}).status_code == 200
    return sanne


def my_data_path(smtp) -> str:
    manage = next(link for link in links(smtp.messages[0]) if link.startswith("/mijn-quiz/"))
    return manage.split("/vraag/")[0] + "/gegevens"


def test_the_database_holds_her_data_before(app, sanne):
    """The scan finds what is there (so its silence after erasure means something)."""
    found = scan_database(app, PERSONAL)
    assert {"participant.email", "participant.name", "participant.organisation", "participant.role"} <= set(
        found
    )
    assert "delivery.last_error" in found


def test_export_page_and_json_show_everything(client, session, smtp, sanne):
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        page = client.get(my_data_path(smtp))
        download = client.get(my_data_path(smtp) + ".json")
    assert page.status_code == 200
    for value in PERSONAL:
        assert value in page.text
    assert "Vraag 1: Vraag over stap 1" in page.text and "Wis al mijn gegevens" in page.text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "same-origin"

    assert download.status_code == 200 and download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    data = json.loads(download.text)
    assert data["participant"]["email"] == EMAIL and data["participant"]["name"] == PERSONAL[1]
    assert data["participant"]["consent_version"] == "test"
    assert [(a["day"], a["answer"]) for a in data["answers"]] == [(1, data["answers"][0]["answer"])]
    assert {(e["kind"], e["day"], e["status"]) for e in data["emails"]} == {
        ("question", 1, "sent"),
        ("question", 2, "deferred"),
        ("question", 3, "pending"),
    }
    assert data["link_visits"][0]["browser"] == "Sanne's Firefox"


def test_erase_get_and_unconfirmed_post_change_nothing(app, client, session, smtp, sanne):
    erase = my_data_path(smtp).replace("/gegevens", "/wissen")
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        page = client.get(erase)
        assert page.status_code == 200 and "Wis mijn gegevens" in page.text
        refused = client.post(erase, data={})
    assert refused.status_code == 422 and "Zet een vinkje" in refused.text
    session.refresh(sanne)
    assert sanne.status == "active" and sanne.email == EMAIL


def test_an_expired_erase_link_erases_nothing_and_claims_nothing(app, client, session, smtp, sanne):
    """A "Mijn quiz" link past the links' backstop: the erase page and its
    POST say the link no longer works, and nothing is erased or claimed."""
    from datetime import timedelta

    from quiz.db import utcnow

    erase = my_data_path(smtp).replace("/gegevens", "/wissen")
    with time_machine.travel(utcnow() + timedelta(days=401), tick=False):
        responses = client.get(erase), client.post(erase, data={"bevestig": "ja"})
    for response in responses:
        assert response.status_code == 410 and "werkt niet meer" in response.text
        assert "er is nu niets gewist" in response.text
        assert "zijn gewist" not in response.text and "Wis mijn gegevens" not in response.text
    session.refresh(sanne)
    assert sanne.status == "active" and sanne.email == EMAIL


def test_erase_leaves_no_personal_data_anywhere(app, client, session, smtp, sanne):
    erase = my_data_path(smtp).replace("/gegevens", "/wissen")
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        done = client.post(erase, data={"bevestig": "ja"})
    assert done.status_code == 200 and "Je gegevens zijn gewist" in done.text

    assert scan_database(app, PERSONAL) == []
    session.expire_all()
    row = session.get(Participant, sanne.id)
    assert row.status == "erased"
    assert (row.email, row.name, row.organisation, row.sector, row.role, row.consent_at) == (None,) * 6
    # Her answer still counts, anonymously; her browser and address fingerprint are gone.
    assert (
        session.scalar(select(func.count()).select_from(Answer).where(Answer.participant_id == sanne.id)) == 1
    )
    hit = session.scalar(select(LinkHit).where(LinkHit.participant_id == sanne.id))
    assert (hit.user_agent, hit.client_hash) == (None, None)
    statuses = dict(
        session.execute(
            select(Delivery.day, Delivery.status).where(Delivery.participant_id == sanne.id)
        ).all()
    )
    assert statuses == {1: "sent", 2: "cancelled", 3: "cancelled"}

    # The links stop working; erasing twice is harmless and says what is so.
    with time_machine.travel(at("2026-11-17 12:05"), tick=False):
        assert client.get(my_data_path(smtp)).status_code == 410
        again = client.post(erase, data={"bevestig": "ja"})
    assert again.status_code == 410 and "Je gegevens zijn al gewist" in again.text


def test_erased_participant_gets_no_more_mail(app, client, session, smtp, sanne):
    from quiz.delivery.sender import send_due

    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        client.post(my_data_path(smtp).replace("/gegevens", "/wissen"), data={"bevestig": "ja"})
    smtp.clear()
    send_due(app, lambda: at("2026-11-18 08:00"), "test")
    assert smtp.messages == []


def test_erase_is_logged_without_the_address(app, client, smtp, sanne, caplog):
    caplog.set_level("INFO")
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        client.post(my_data_path(smtp).replace("/gegevens", "/wissen"), data={"bevestig": "ja"})
    assert f"participant {sanne.id} erased" in caplog.text
    assert EMAIL not in caplog.text


def test_my_data_page_speaks_dutch_in_the_campaigns_timezone(client, session, smtp, sanne):
    """Issue 19 item 4: no UTC ISO timestamps, no English codes, no "e-mail(s)"."""
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        page = client.get(my_data_path(smtp)).text
    text = " ".join(page.split())
    assert "<td>maandag 16 november 2026 om 07:30</td>" in text  # signed up, Amsterdam time
    assert re.search(r"· antwoord [A-D] \((niet )?goed\) · maandag 16 november 2026 om 09:00</li>", text)
    assert "<td>doet mee</td>" in text
    assert "3 e-mails:" in text
    assert "<li>Vraag 1 · verstuurd op maandag 16 november 2026 om 07:30</li>" in text
    assert "<li>Vraag 2 · nog niet verstuurd, we proberen het opnieuw</li>" in text
    assert "<li>Vraag 3 · gepland voor woensdag 18 november 2026 om 07:30</li>" in text
    for english in (
        "e-mail(s)",
        "(sent)",
        "(pending)",
        "question 1",
        "active",
        "+00:00",
        "UTC",
        "2026-11-16",
    ):
        assert english not in text, english

    # The campaign's zone, not the server's or Amsterdam's: Bonaire is UTC-4 in November.
    sanne.campaign.timezone = "America/Kralendijk"
    session.commit()
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        text = " ".join(client.get(my_data_path(smtp)).text.split())
    assert "<td>maandag 16 november 2026 om 02:30</td>" in text


def test_one_email_and_one_visit_are_singular(client, session, smtp, sanne):
    session.execute(Delivery.__table__.delete().where(Delivery.day > 1))
    session.execute(
        LinkHit.__table__.delete().where(LinkHit.id > session.scalar(select(func.min(LinkHit.id))))
    )
    session.commit()
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        text = " ".join(client.get(my_data_path(smtp)).text.split())
    assert "1 e-mail:" in text and "1 keer een antwoordlink geopend" in text
