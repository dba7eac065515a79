"""The certificate of participation (deelnamebewijs): the PDF's text, the
download behind the "Mijn quiz" link, when it is not there (yet), the public
check of its code (also after erasure), the links in Mijn quiz and the
summary email, and the organisers' switch in /admin and the CLI."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pypdf
import pytest
import time_machine
from sqlalchemy import select

from quiz.answering.answers import record_answer
from quiz.delivery.outbox import enqueue
from quiz.delivery.sender import send_due
from quiz.followups import certificate_code
from quiz.followups.bespreekkaart import pdf_available
from quiz.models import Campaign, Participant
from quiz.rights import retention
from tests.admin_factories import AdminClient, import_meldcode, make_organiser
from tests.answer_factories import links, make_players, make_quiz, send_question
from tests.conftest import at
from tests.factories import make_participant
from tests.test_admin_campaigns import valid_form

MONDAY = at("2026-11-16 07:30")
AFTER = at("2026-11-23 12:00")  # the Monday after the quiz week
CODE = re.compile(r"[A-HJKMNP-TW-Z2-9]{4}-[A-HJKMNP-TW-Z2-9]{4}-[A-HJKMNP-TW-Z2-9]{4}")
needs_pdf = pytest.mark.skipif(not pdf_available(), reason="WeasyPrint or Debian's Pango is missing")


def run_week(app, session, smtp, **campaign_fields):  # noqa: ANN001, ANN201
    """Sanne Jansen gets the five questions Monday to Friday and answers four:
    B, B, A, B (three right: B is right in each), the fifth not. Returns
    (campaign, question set, Sanne, her Mijn quiz link)."""
    campaign, qs = make_quiz(session, MONDAY, name="Week tegen Kindermishandeling 2026", **campaign_fields)
    (sanne,) = make_players(session, campaign, MONDAY, 1)
    sanne.name = "Sanne Jansen"
    session.commit()
    for k, label in zip(range(1, 6), ["B", "B", "A", "B", None], strict=True):
        q = qs.questions[k - 1]
        send_question(app, session, sanne, q, at(f"2026-11-{15 + k} 07:30"))
        if label:
            option = next(o.id for o in q.options if o.label == label)
            record_answer(session, sanne.id, q.id, option, at(f"2026-11-{15 + k} 09:00"))
    link = next(x for x in links(smtp.to("collega0@example.org")[-1]) if re.fullmatch(r"/mijn-quiz/[^/]+", x))
    return campaign, qs, sanne, link


def get(client, url: str, moment: datetime = AFTER):  # noqa: ANN001, ANN201
    with time_machine.travel(moment, tick=False):
        return client.get(url)


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(" ".join(p.extract_text() for p in reader.pages).split())


@needs_pdf
def test_the_pdf_says_who_what_when_which_questions_the_score_and_the_code(app, client, session, smtp):
    campaign, qs, sanne, link = run_week(app, session, smtp, certificates_enabled=True)
    response = get(client, link + "/deelnamebewijs.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    pages, text = pdf_text(response.data)
    assert pages == 1
    assert "DEELNAMEBEWIJS" in text and "Sanne Jansen" in text
    assert "Week tegen Kindermishandeling 2026" in text
    assert "van 16 november 2026 tot en met 20 november 2026" in text
    assert "3 van de 5 vragen goed beantwoord (4 van de 5 vragen beantwoord)" in text
    for q in qs.questions:
        assert f"Vraag {q.position}: {q.title}" in text
    assert text.count("niet goed") == 1 and text.count("niet beantwoord") == 1
    code = CODE.search(text).group(0)
    session.refresh(sanne)
    assert sanne.certificate_code == code
    assert "http://quiz.test/deelnamebewijs/controleren" in text
    # The code is made once: the next download, and the page, show the same one.
    assert CODE.search(pdf_text(get(client, link + "/deelnamebewijs.pdf").data)[1]).group(0) == code
    page = get(client, link + "/deelnamebewijs")
    assert page.status_code == 200 and code in page.text and "Sanne Jansen" in page.text
    assert f'href="{link}/deelnamebewijs.pdf"' in page.text


def test_mijn_quiz_links_to_it_once_the_last_question_went_out(app, client, session, smtp):
    campaign, qs, sanne, link = run_week(app, session, smtp, certificates_enabled=True)
    page = get(client, link)
    assert page.status_code == 200
    assert '<h2 id="certificate-title">Deelnamebewijs</h2>' in page.text
    assert f'href="{link}/deelnamebewijs' in page.text
    assert session.get(Participant, sanne.id).certificate_code is None  # Mijn quiz only reads


def test_before_the_last_question_it_says_from_when(app, client, session, smtp):
    campaign, qs = make_quiz(session, MONDAY, certificates_enabled=True)
    (sanne,) = make_players(session, campaign, MONDAY, 1)
    send_question(app, session, sanne, qs.questions[0], MONDAY)
    link = next(x for x in links(smtp.to("collega0@example.org")[-1]) if re.fullmatch(r"/mijn-quiz/[^/]+", x))
    tuesday = at("2026-11-17 12:00")
    page = get(client, link, tuesday)
    assert (
        "Je kunt je deelnamebewijs downloaden vanaf <strong>vrijdag 20 november 2026</strong>." in page.text
    )
    for path in ("/deelnamebewijs", "/deelnamebewijs.pdf"):
        response = get(client, link + path, tuesday)
        assert response.status_code == 404
        assert "Je deelnamebewijs is er nog niet" in response.text
        assert "vanaf vrijdag 20 november 2026" in response.text
    assert session.get(Participant, sanne.id).certificate_code is None


def test_with_repeats_it_waits_for_the_last_possible_repeat(app, client, session, smtp):
    campaign, qs, sanne, link = run_week(app, session, smtp, certificates_enabled=True, repeats="wrong")
    # 2 rounds of 7 working days and 4 more days after Friday 20 November: Wednesday 16 December.
    page = get(client, link)
    assert "vanaf <strong>donderdag 17 december 2026</strong>" in page.text
    assert get(client, link + "/deelnamebewijs").status_code == 404
    # Stopping the repeats makes it available at once.
    sanne.repeats_stopped_at = AFTER
    session.commit()
    assert get(client, link + "/deelnamebewijs").status_code == 200


def test_campaigns_without_certificates_show_nothing_and_serve_404(app, client, session, smtp):
    campaign, qs, sanne, link = run_week(app, session, smtp)
    assert campaign.certificates_enabled is False  # off unless an organiser turns it on
    assert "Deelnamebewijs" not in get(client, link).text
    response = get(client, link + "/deelnamebewijs")
    assert response.status_code == 404 and "Geen deelnamebewijs" in response.text


@needs_pdf
def test_pdf_downloads_are_limited_per_link(app, client, session, smtp):
    campaign, qs, sanne, link = run_week(app, session, smtp, certificates_enabled=True)
    with time_machine.travel(AFTER, tick=False):
        assert [client.get(link + "/deelnamebewijs.pdf").status_code for _ in range(10)] == [200] * 10
        refused = client.get(link + "/deelnamebewijs.pdf")
        assert refused.status_code == 429 and "Even wachten" in refused.text
        assert client.get(link + "/deelnamebewijs").status_code == 200  # the page is cheap: not limited


@pytest.mark.parametrize("path", ["/deelnamebewijs", "/deelnamebewijs.pdf"])
def test_a_tampered_link_gets_the_dutch_400_page(client, session, path):
    response = client.get("/mijn-quiz/nietgoed.abc" + path)
    assert response.status_code == 400
    assert "Deze link naar Mijn quiz klopt niet" in response.text


def test_a_code_clash_is_retried_with_a_new_code(app, client, session, smtp, monkeypatch):
    sanne, code, link = issued(app, client, session, smtp)
    kees = make_participant(session, sanne.campaign, MONDAY, email="kees@example.org")
    fresh = iter([code, "ABCD-EFGH-JKMN"])  # the first clashes with Sanne's (unique index)
    monkeypatch.setattr(certificate_code, "new_code", lambda: next(fresh))
    assert certificate_code.issue_code(session, kees) == "ABCD-EFGH-JKMN"
    session.refresh(sanne)
    assert sanne.certificate_code == code


# --- the public check --------------------------------------------------------------


def issued(app, client, session, smtp) -> tuple[Participant, str, str]:  # noqa: ANN001
    campaign, qs, sanne, link = run_week(app, session, smtp, certificates_enabled=True)
    assert get(client, link + "/deelnamebewijs").status_code == 200
    session.refresh(sanne)
    return sanne, sanne.certificate_code, link


def test_the_check_says_genuine_and_shows_only_name_and_campaign(app, client, session, smtp):
    sanne, code, _ = issued(app, client, session, smtp)
    form = client.get("/deelnamebewijs/controleren")
    assert form.status_code == 200 and 'name="code"' in form.text
    for typed in (code, code.lower(), code.replace("-", " "), code.replace("-", "")):
        response = client.get("/deelnamebewijs/controleren", query_string={"code": typed})
        assert response.status_code == 200
        assert "Dit deelnamebewijs is echt" in response.text
        assert "Sanne Jansen" in response.text and "Week tegen Kindermishandeling 2026" in response.text
    page = response.text
    for personal in ("collega0@example.org", "Basisschool De Linde", "onderwijs", "van de 5"):
        assert personal not in page
    assert response.headers["X-Robots-Tag"] == "noindex"


@pytest.mark.parametrize(
    ("typed", "status", "message"),
    [
        ("", 400, "Vul de code van het deelnamebewijs in."),
        ("   ", 400, "Vul de code van het deelnamebewijs in."),
        ("ABCD", 400, "Dit is geen code van een deelnamebewijs."),
        ("ABCD-EFGH-JK10", 400, "Dit is geen code van een deelnamebewijs."),
        ("<script>alert(1)</script>", 400, "Dit is geen code van een deelnamebewijs."),
        ("A" * 5000, 400, "Dit is geen code van een deelnamebewijs."),
        ("ABCD-EFGH-JKMN", 404, "Deze code is niet geldig"),
    ],
)
def test_bad_and_unknown_codes(client, session, typed, status, message):
    response = client.get("/deelnamebewijs/controleren", query_string={"code": typed})
    assert response.status_code == status
    assert message in response.text
    assert "<script>alert" not in response.text
    assert "A" * 100 not in response.text  # long input is not echoed back


def test_erasing_the_data_withdraws_the_code(app, client, session, smtp):
    sanne, code, link = issued(app, client, session, smtp)
    with time_machine.travel(AFTER, tick=False):
        erased = client.post(link + "/wissen", data={"bevestig": "ja"})
    assert erased.status_code == 200
    session.refresh(sanne)
    assert sanne.certificate_code is None and sanne.name is None
    response = client.get("/deelnamebewijs/controleren", query_string={"code": code})
    assert response.status_code == 404
    assert "Deze code is niet geldig" in response.text and "Sanne" not in response.text
    assert get(client, link + "/deelnamebewijs").status_code == 410


def test_retention_withdraws_the_code_too(app, client, session, smtp):
    sanne, code, link = issued(app, client, session, smtp)
    # 90 days after the last quiz day (Friday 20 November) the scheduler erases.
    retention.run(session, at("2027-02-19 03:30"), days=90)
    session.refresh(sanne)
    assert sanne.status == "erased" and sanne.certificate_code is None
    assert client.get("/deelnamebewijs/controleren", query_string={"code": code}).status_code == 404


def test_the_check_is_rate_limited_per_address(client, session):
    for _ in range(20):
        assert client.get("/deelnamebewijs/controleren?code=ABCD-EFGH-JKMN").status_code == 404
    response = client.get("/deelnamebewijs/controleren?code=ABCD-EFGH-JKMN")
    assert response.status_code == 429 and "Even wachten" in response.text
    # another address is not held up
    other = client.get(
        "/deelnamebewijs/controleren?code=ABCD-EFGH-JKMN", environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 404


def test_the_export_shows_the_code(app, client, session, smtp):
    sanne, code, link = issued(app, client, session, smtp)
    data = get(client, link + "/gegevens.json").get_json()
    assert data["participant"]["certificate_code"] == code


# --- the summary email -------------------------------------------------------------


def send_summary(app, session, sanne, moment: datetime) -> None:  # noqa: ANN001
    enqueue(
        session, participant_id=sanne.id, kind="summary", day=0, question_id=None, due_at=moment, now=moment
    )
    session.commit()
    send_due(app, lambda: moment, "test")


def test_the_summary_links_to_the_certificate(app, client, session, smtp):
    campaign, qs, sanne, link = run_week(app, session, smtp, certificates_enabled=True)
    send_summary(app, session, sanne, at("2026-11-23 15:00"))
    summary = smtp.to("collega0@example.org")[-1]
    assert "DEELNAMEBEWIJS" in summary.get_body(("plain",)).get_content()
    # The summary signs its own "Mijn quiz" token (it may differ from the
    # question emails' by the second it was signed in): follow the link.
    for part in ("plain", "html"):
        (url,) = {x for x in links(summary, part) if re.fullmatch(r"/mijn-quiz/[^/]+/deelnamebewijs", x)}
        page = get(client, url, at("2026-11-23 15:05"))
        assert page.status_code == 200 and "Sanne Jansen" in page.text


def test_with_repeats_the_summary_says_from_when(app, client, session, smtp):
    campaign, qs, sanne, link = run_week(app, session, smtp, certificates_enabled=True, repeats="all")
    send_summary(app, session, sanne, at("2026-11-23 15:00"))
    text = smtp.to("collega0@example.org")[-1].get_body(("plain",)).get_content()
    assert "Je kunt je deelnamebewijs downloaden vanaf donderdag 17 december 2026, via Mijn quiz" in text
    assert "/deelnamebewijs" not in text


def test_without_certificates_the_summary_says_nothing_of_it(app, client, session, smtp):
    campaign, qs, sanne, link = run_week(app, session, smtp)
    send_summary(app, session, sanne, at("2026-11-23 15:00"))
    summary = smtp.to("collega0@example.org")[-1]
    assert "deelnamebewijs" not in summary.get_body(("plain",)).get_content().lower()
    assert "deelnamebewijs" not in summary.get_body(("html",)).get_content().lower()


# --- the organisers' switch ---------------------------------------------------------


def test_organisers_turn_certificates_on_and_off_in_the_campaign_form(client, session):
    make_organiser(session)
    admin = AdminClient(client)
    admin.login()
    qs = import_meldcode(session)
    form = admin.get("/admin/campagnes/nieuw").text
    assert 'name="certificates_enabled"' in form and "Deelnamebewijs" in form
    assert (
        admin.post("/admin/campagnes/nieuw", valid_form(qs.id, certificates_enabled="y")).status_code == 303
    )
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "week-2026"))
    assert campaign.certificates_enabled is True
    edit = f"/admin/campagnes/{campaign.id}/bewerken"
    assert re.search(r'<input checked[^>]*name="certificates_enabled"', admin.get(edit).text)
    assert admin.post(edit, valid_form(qs.id)).status_code == 303  # an unticked box is not sent
    session.refresh(campaign)
    assert campaign.certificates_enabled is False


def test_the_cli_turns_certificates_on_and_off(runner, session):
    import_meldcode(session)
    result = runner.invoke(args=["quiz", "campaign", "create", "week", "--question-set", "meldcode"])
    assert result.exit_code == 0, result.output
    assert "certificates  off" in runner.invoke(args=["quiz", "campaign", "show", "week"]).output
    result = runner.invoke(args=["quiz", "campaign", "edit", "week", "--certificates"])
    assert result.exit_code == 0 and "certificates on" in result.output
    assert "certificates  on" in runner.invoke(args=["quiz", "campaign", "show", "week"]).output
    result = runner.invoke(args=["quiz", "campaign", "edit", "week"])
    assert result.exit_code == 2 and "nothing to change" in result.output
    runner.invoke(args=["quiz", "campaign", "edit", "week", "--no-certificates"])
    session.expire_all()
    assert session.scalar(select(Campaign.certificates_enabled).where(Campaign.slug == "week")) is False
    result = runner.invoke(
        args=["quiz", "campaign", "create", "other", "--question-set", "meldcode", "--certificates"]
    )
    assert result.exit_code == 0
    assert session.scalar(select(Campaign.certificates_enabled).where(Campaign.slug == "other")) is True
    missing = runner.invoke(args=["quiz", "campaign", "edit", "nope", "--certificates"])
    assert missing.exit_code == 2 and "no campaign 'nope'" in missing.output
