"""The public campaign is explicit (issue 19, item 2): an organiser chooses
which campaign `/` serves; without one, `/` lists the campaigns open for
signup. Each campaign has its own signup link and a QR code of it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from quiz.db import utcnow
from quiz.models import Campaign, Participant
from tests.admin_factories import flashes, import_meldcode
from tests.factories import make_campaign
from tests.test_admin_campaigns import valid_form
from tests.test_signup import VALID, csrf_token

SVG = "{http://www.w3.org/2000/svg}"


def sign_up(client, url: str = "/", email: str = "jan@example.org"):  # noqa: ANN201
    return client.post(url, data={**VALID, "email": email, "csrf_token": csrf_token(client, url)})


def campaign_of(session, email: str) -> str:
    session.expire_all()
    participant = session.scalar(select(Participant).where(Participant.email == email))
    return participant.campaign.slug


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_new_campaign_does_not_move_the_front_page(admin, client, session):
    """Before, `/` served the newest campaign whose signup was open: creating
    a second one in /admin silently moved the front page to it."""
    qs = import_meldcode(session)
    make_campaign(session, utcnow() - timedelta(days=3), slug="najaar", name="Najaar", question_set_id=qs.id,
                  public=True)  # fmt: skip
    created = admin.post(
        "/admin/campagnes/nieuw",
        valid_form(
            qs.id,
            slug="voorjaar",
            name="Voorjaar",
            start_mode="rolling",
            start_date="",
            signup_opens_at="",
            signup_closes_at="",
        ),  # fmt: skip
    )
    assert created.status_code == 303, created.text
    assert sign_up(client).status_code == 303
    assert campaign_of(session, "jan@example.org") == "najaar"
    # The new campaign has its own link all the same.
    assert sign_up(client, "/c/voorjaar", "piet@example.org").status_code == 303
    assert campaign_of(session, "piet@example.org") == "voorjaar"


def test_without_a_public_campaign_the_front_page_lists_the_open_ones(client, session):
    now = utcnow()
    make_campaign(session, now - timedelta(days=9), slug="najaar", name="Najaar 2026", public=False)
    make_campaign(session, now - timedelta(days=5), slug="dicht", name="Gesloten ronde", public=False,
                  signup_closes_at=now - timedelta(hours=1))  # fmt: skip
    make_campaign(session, now - timedelta(days=1), slug="zorg", name="Zorg en welzijn", public=False)
    page = client.get("/")
    assert page.status_code == 200
    links = re.findall(r'<a href="(/c/[^"]+)">([^<]+)</a>', page.text)
    assert links == [
        ("/c/zorg", "Aanmelden voor Zorg en welzijn"),
        ("/c/najaar", "Aanmelden voor Najaar 2026"),
    ]
    assert "Gesloten ronde" not in page.text
    assert 'name="email"' not in page.text
    # A form posted to the list signs nobody up.
    assert client.post("/", data={**VALID, "csrf_token": csrf_token(client, "/c/zorg")}).status_code == 200
    assert session.scalar(select(Participant)) is None


def test_no_open_campaign_and_none_public(client, session):
    now = utcnow()
    make_campaign(session, now, slug="dicht", public=False, signup_closes_at=now - timedelta(hours=1))
    page = client.get("/")
    assert page.status_code == 404
    assert "Er is nu geen quiz" in page.text


def test_the_organiser_chooses_the_public_campaign(admin, client, session):
    now = utcnow()
    first = make_campaign(session, now, slug="najaar", name="Najaar", public=True)
    second = make_campaign(session, now, slug="zorg", name="Zorg en welzijn")
    assert not second.public

    listing = admin.get("/admin/campagnes").text
    assert "Voorpagina: " in visible_text(listing) and ">Najaar</a>" in listing
    assert "toont het aanmeldformulier van Najaar" in visible_text(listing)

    made = admin.post(f"/admin/campagnes/{second.id}/publiek", {"action": "make"}, follow_redirects=True)
    assert flashes(made.text) == ["De voorpagina toont nu het aanmeldformulier van Zorg en welzijn."]
    assert "publiek" in visible_text(made.text)
    session.expire_all()
    assert (session.get(Campaign, first.id).public, session.get(Campaign, second.id).public) == (False, True)
    sign_up(client)
    assert campaign_of(session, "jan@example.org") == "zorg"

    cleared = admin.post(f"/admin/campagnes/{second.id}/publiek", {"action": "clear"}, follow_redirects=True)
    assert flashes(cleared.text) == [
        "Geen publieke campagne meer: de voorpagina toont de campagnes waarvoor aanmelden open is."
    ]
    assert "Voorpagina: geen publieke campagne (lijst van open campagnes)" in visible_text(cleared.text)
    assert 'href="/c/najaar"' in client.get("/").text


@pytest.mark.parametrize(
    ("url", "data", "status"),
    [
        ("/admin/campagnes/{id}/publiek", {"action": "stuk"}, 400),
        ("/admin/campagnes/999/publiek", {"action": "make"}, 404),
    ],
)
def test_bad_requests_change_nothing(admin, session, url, data, status):
    campaign = make_campaign(session, utcnow(), public=False)
    assert admin.post(url.format(id=campaign.id), data).status_code == status
    session.expire_all()
    assert session.scalar(select(Campaign.id).where(Campaign.public.is_(True))) is None


def test_each_campaign_shows_its_signup_link_and_qr_code(admin, session):
    campaign = make_campaign(session, utcnow(), slug="najaar-2026", name="Najaar")
    page = admin.get(f"/admin/campagnes/{campaign.id}").text
    assert (
        '<a href="http://quiz.test/c/najaar-2026" class="signup-link">http://quiz.test/c/najaar-2026</a>'
        in page
    )
    assert f'src="/admin/campagnes/{campaign.id}/qr.svg"' in page
    assert 'alt="QR-code van de aanmeldlink http://quiz.test/c/najaar-2026"' in page

    qr = admin.get(f"/admin/campagnes/{campaign.id}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    svg = ET.fromstring(qr.data)
    assert svg.tag == f"{SVG}svg"
    assert svg.find(f"{SVG}title").text == "http://quiz.test/c/najaar-2026"
    download = admin.get(f"/admin/campagnes/{campaign.id}/qr.svg?download=1")
    assert download.headers["Content-Disposition"] == 'attachment; filename="qr-najaar-2026.svg"'
    assert admin.get("/admin/campagnes/999/qr.svg").status_code == 404


def test_the_qr_code_needs_a_login(client, session):
    campaign = make_campaign(session, utcnow())
    assert client.get(f"/admin/campagnes/{campaign.id}/qr.svg").status_code in (302, 303)


# --- the operator's commands ---------------------------------------------------


def quiz(runner, *args: str):  # noqa: ANN201
    return runner.invoke(args=["quiz", "campaign", *args])


def test_cli_chooses_and_shows_the_public_campaign(runner, session, client):
    now = utcnow()
    make_campaign(session, now - timedelta(days=1), slug="najaar", public=False)
    make_campaign(session, now, slug="zorg", public=False)
    assert quiz(runner, "public").output == (
        "No public campaign: http://quiz.test/ lists the campaigns open for signup (zorg, najaar).\n"
    )
    chosen = quiz(runner, "public", "zorg")
    assert chosen.exit_code == 0
    assert chosen.output == "Public campaign: 'zorg' — http://quiz.test/ serves its signup form.\n"
    listing = quiz(runner, "list").output.splitlines()
    assert [line.split()[:2] for line in listing] == [["/", "zorg"], ["najaar", "rolling"]]
    shown = quiz(runner, "show", "zorg").output
    assert (
        "signup link   http://quiz.test/c/zorg (the public campaign: http://quiz.test/ serves it too)"
        in shown
    )
    sign_up(client)
    assert campaign_of(session, "jan@example.org") == "zorg"

    assert quiz(runner, "public", "--none").output.startswith("No public campaign")
    session.expire_all()
    assert session.scalar(select(Campaign.id).where(Campaign.public.is_(True))) is None


def test_cli_refuses_unknown_campaigns_and_both_arguments(runner, session):
    make_campaign(session, utcnow(), slug="najaar", public=True)
    unknown = quiz(runner, "public", "bestaat-niet")
    assert unknown.exit_code == 2 and "no campaign 'bestaat-niet'" in unknown.output
    both = quiz(runner, "public", "najaar", "--none")
    assert both.exit_code == 2 and "give a SLUG or --none, not both" in both.output
    session.expire_all()
    assert session.scalar(select(Campaign.slug).where(Campaign.public.is_(True))) == "najaar"


def test_cli_writes_the_qr_code(runner, session, tmp_path: Path):
    make_campaign(session, utcnow(), slug="najaar")
    target = tmp_path / "poster.svg"
    result = quiz(runner, "qr", "najaar", "-o", str(target))
    assert result.exit_code == 0
    assert result.output == f"Signup link http://quiz.test/c/najaar\nQR code written to {target}.\n"
    assert ET.parse(target).getroot().find(f"{SVG}title").text == "http://quiz.test/c/najaar"
