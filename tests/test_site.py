"""The public site around the quiz: colofon, accessibility and privacy
statements, favicon and logo, and the organisation named everywhere from
the settings (issue 19, item 10)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from quiz import create_app
from quiz.config import ConfigError
from quiz.db import utcnow
from quiz.delivery.sender import send_due
from tests.factories import make_campaign

ORGANISATION = {
    "QUIZ_ORGANISATION_NAME": "Stichting Veilig Opgroeien",
    "QUIZ_ORGANISATION_ADDRESS": "Postbus 1234, 3500 AA Utrecht",
    "QUIZ_ORGANISATION_WEBSITE": "https://veiligopgroeien.example",
    "QUIZ_ORGANISATION_KVK": "12345678",
    "QUIZ_CONTACT_EMAIL": "info@veiligopgroeien.example",
    "QUIZ_CONTACT_PHONE": "030 123 45 67",
    "QUIZ_PRIVACY_CONTACT": "privacy@veiligopgroeien.example",
    "QUIZ_RETENTION_DAYS": 30,
    "QUIZ_LOG_RETENTION_DAYS": 10,
}


def text_of(html: str) -> str:
    """What a reader sees: tags out, entities decoded, white space collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def footer_links(html: str) -> dict[str, str]:
    footer = html[html.index('<footer class="site-footer">') :]
    return {
        text_of(label).strip(): href for href, label in re.findall(r'<a href="([^"]+)">(.*?)</a>', footer)
    }


@pytest.fixture
def own_name(app_config):
    app_config.update(ORGANISATION)
    return app_config


@pytest.mark.parametrize(
    "path",
    ["/", "/privacy", "/colofon", "/toegankelijkheid", "/aangemeld", "/bestaat-niet", "/bevestig/kapot"],
)
def test_every_public_page_links_colofon_privacy_and_accessibility(client, session, path):
    make_campaign(session, utcnow())
    page = client.get(path)
    assert page.status_code in (200, 400, 404)
    assert footer_links(page.text) == {
        "Colofon en contact": "/colofon",
        "Privacyverklaring": "/privacy",
        "Toegankelijkheid": "/toegankelijkheid",
    }
    assert '<link rel="icon" href="/favicon.ico"' in page.text


def test_favicon_is_a_real_icon(client):
    with client.get("/favicon.ico") as icon:
        data = icon.get_data()
    assert icon.status_code == 200
    assert icon.mimetype == "image/vnd.microsoft.icon"
    # An ICO file: reserved 0, type 1 (icon), then the number of images.
    assert data[:4] == b"\x00\x00\x01\x00"
    assert int.from_bytes(data[4:6], "little") >= 2
    assert "max-age" in icon.headers["Cache-Control"]
    again = client.get("/favicon.ico", headers={"If-None-Match": icon.headers["ETag"]})
    assert again.status_code == 304


def test_default_logo_and_name(client):
    with client.get("/logo") as logo:
        data = logo.get_data()
    assert logo.status_code == 200
    assert logo.mimetype == "image/svg+xml"
    assert b"<svg" in data
    assert "Deze website is van het MeldcodeQuiz-team." in text_of(client.get("/colofon").text)


def test_colofon_names_the_organisation_from_the_settings(own_name, client, tmp_path):
    seen = text_of(client.get("/colofon").text)
    for value in (
        "Stichting Veilig Opgroeien",
        "Postbus 1234, 3500 AA Utrecht",
        "KvK-nummer 12345678",
        "Website https://veiligopgroeien.example",
        "E-mail info@veiligopgroeien.example",
        "Telefoon 030 123 45 67",
        "Vragen over privacy privacy@veiligopgroeien.example",
    ):
        assert value in seen
    assert 'href="tel:0301234567"' in client.get("/colofon").text
    assert 'alt="Logo van Stichting Veilig Opgroeien"' in client.get("/colofon").text
    assert "Deze website is van Stichting Veilig Opgroeien." in text_of(client.get("/").text)


def test_optional_contact_lines_are_left_out_when_unset(client):
    seen = text_of(client.get("/colofon").text)
    for absent in ("Adres", "KvK-nummer", "Telefoon", "Website"):
        assert absent not in seen
    assert "E-mail contact@meldcodequiz.localhost" in seen


def test_own_logo_file(app_config, tmp_path):
    png = tmp_path / "logo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    app_config["QUIZ_LOGO_FILE"] = str(png)
    with create_app(app_config).test_client().get("/logo") as logo:
        assert logo.mimetype == "image/png"
        assert logo.get_data() == png.read_bytes()


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.svg", "does not exist"), ("logo.gif", "must be one of .jpeg, .jpg, .png, .svg, .webp")],
)
def test_a_logo_that_cannot_be_shown_stops_the_start(app_config, tmp_path, name, message):
    (tmp_path / "logo.gif").write_bytes(b"GIF89a")
    app_config["QUIZ_LOGO_FILE"] = str(tmp_path / name)
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app(app_config)


def test_accessibility_statement(own_name, client):
    page = client.get("/toegankelijkheid")
    assert page.status_code == 200
    seen = text_of(page.text)
    assert "Toegankelijkheidsverklaring" in seen
    assert "WCAG 2.1 op niveau A en AA" in seen
    assert "Wat nog niet goed is" in seen
    assert "E-mail info@veiligopgroeien.example" in seen


def test_privacy_statement_names_controller_data_purposes_periods_and_rights(own_name, client):
    seen = text_of(client.get("/privacy").text)
    # The controller.
    assert "verwerkingsverantwoordelijke" in seen
    assert "Organisatie Stichting Veilig Opgroeien" in seen
    assert "Vragen over privacy privacy@veiligopgroeien.example" in seen
    # Every kind of data the tables hold, and the traces "Mijn gegevens" shows.
    for kind in (
        *("e-mailadres", "organisatie", "sector", "naam", "functie", "toestemming", "eerste quizdag"),
        *("antwoord", "besproken", "herhaalvragen", "controlecode", "foutmelding van de mailserver"),
        *("welke browser", "versleutelde vingerafdruk van het internetadres", "Logboeken van de webserver"),
        "sessiecookie",
    ):
        assert kind in seen, kind
    # Purposes and legal bases.
    assert "toestemming voor geeft bij het aanmelden (AVG artikel 6 lid 1a)" in seen
    assert "gerechtvaardigd belang" in seen and "artikel 6 lid 1f" in seen
    # Retention as configured.
    assert "30 dagen na je laatste quizdag" in seen
    assert "na 7 dagen" in seen
    assert "De logboeken van de webserver bewaren we 10 dagen" in seen
    # Rights, and the complaint.
    for right in ("Inzien en downloaden", "Wissen", "Afmelden", "Verbeteren, beperken of bezwaar maken"):
        assert right in seen
    assert "Autoriteit Persoonsgegevens" in seen
    assert 'href="https://www.autoriteitpersoonsgegevens.nl/"' in client.get("/privacy").text


def test_privacy_statement_follows_the_retention_setting(client):
    assert "90 dagen na je laatste quizdag" in text_of(client.get("/privacy").text)


def test_the_earlier_setting_name_still_names_the_organisation(monkeypatch):
    from quiz.config import load_settings

    settings = load_settings({"QUIZ_ORGANISER_NAME": "GGD Voorbeeldstad"}, env_file=None)
    assert settings["QUIZ_ORGANISATION_NAME"] == "GGD Voorbeeldstad"
    both = load_settings({"QUIZ_ORGANISER_NAME": "oud", "QUIZ_ORGANISATION_NAME": "nieuw"}, env_file=None)
    assert both["QUIZ_ORGANISATION_NAME"] == "nieuw"


def test_emails_name_the_organisation(own_name, app, client, session, smtp):
    make_campaign(session, utcnow())
    page = client.get("/")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    client.post("/", data={"email": "an@example.org", "organisation": "School", "sector": "onderwijs",
                           "consent": "y", "csrf_token": token})  # fmt: skip
    send_due(app, utcnow, "test")
    (message,) = smtp.messages
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Je krijgt deze e-mail van Stichting Veilig Opgroeien omdat" in text
