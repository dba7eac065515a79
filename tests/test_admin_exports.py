"""CSV export: only consenting, not erased participants; UTF-8 with BOM for
Excel; comma or semicolon; no formulas smuggled in through a name."""

from __future__ import annotations

import csv
import io

import pytest

from quiz.db import utcnow
from tests.admin_factories import answer, campaign_with_set
from tests.factories import make_participant


@pytest.fixture
def campaign(session):
    campaign, qs = campaign_with_set(session)
    now = utcnow()
    zoe = make_participant(session, campaign, now, email="zoe@example.org", name="Zoë Çelik",
                           organisation="Kinderdagverblijf 't Überbos")  # fmt: skip
    make_participant(session, campaign, now, email="formule@example.org", name="=HYPERLINK(\"x\")",
                     organisation="+31 school")  # fmt: skip
    make_participant(session, campaign, now, email="geen@example.org", consent_at=None)
    erased = make_participant(session, campaign, now, email=None, name=None, status="erased")
    answer(session, zoe, qs, 1, qs.questions[0].correct_option.label, discussed=True)
    answer(session, erased, qs, 1, qs.questions[0].correct_option.label)
    return campaign, qs


def rows(response, delimiter=","):
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


def test_participants_export_has_only_consenting_not_erased_people(admin, campaign):
    c, _ = campaign
    response = admin.get(f"/admin/campagnes/{c.id}/deelnemers.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f'filename="{c.slug}-deelnemers.csv"' in response.headers["Content-Disposition"]
    table = rows(response)
    assert table[0][:4] == ["deelnemer", "e-mailadres", "naam", "organisatie"]
    emails = [row[1] for row in table[1:]]
    assert emails == ["zoe@example.org", "formule@example.org"]
    zoe = table[1]
    assert zoe[2] == "Zoë Çelik" and zoe[3] == "Kinderdagverblijf 't Überbos" and zoe[4] == "Onderwijs"
    assert table[0][6] == "status" and zoe[6] == "doet mee"  # the Dutch name, not "active"


def test_cells_cannot_become_formulas(admin, campaign):
    c, _ = campaign
    table = rows(admin.get(f"/admin/campagnes/{c.id}/deelnemers.csv"))
    assert table[2][2] == '\'=HYPERLINK("x")'
    assert table[2][3] == "'+31 school"


def test_semicolons_for_a_dutch_excel(admin, campaign):
    c, _ = campaign
    response = admin.get(f"/admin/campagnes/{c.id}/deelnemers.csv", query_string={"sep": "puntkomma"})
    raw = response.data.decode("utf-8")
    assert raw.splitlines()[0].startswith("\ufeffdeelnemer;e-mailadres;naam;")
    assert rows(response, ";")[1][1] == "zoe@example.org"


def test_answers_export(admin, campaign):
    c, qs = campaign
    table = rows(admin.get(f"/admin/campagnes/{c.id}/antwoorden.csv"))
    header = "deelnemer organisatie sector dag vraag antwoord goed beantwoord besproken"
    assert table[0] == header.split()
    assert len(table) == 2  # the erased participant's answer is left out
    row = table[1]
    assert row[3] == "1" and row[4] == qs.questions[0].title
    assert row[5] == qs.questions[0].correct_option.label and row[6] == "ja"
    assert row[8] != ""  # discussed


def test_exports_need_a_login(client, campaign):
    c, _ = campaign
    assert client.get(f"/admin/campagnes/{c.id}/deelnemers.csv").status_code == 302


def test_export_of_an_unknown_campaign_is_a_404(admin):
    assert admin.get("/admin/campagnes/999/deelnemers.csv").status_code == 404
