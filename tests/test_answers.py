"""Answering by email, as a participant (and a mail scanner) experiences it:
the question email, the confirm page behind each link, the feedback page."""

from __future__ import annotations

import re

import pytest
import time_machine
from sqlalchemy import func, select

from quiz.models import Answer, LinkHit, Participant
from tests.answer_factories import links, make_participant, make_players, make_quiz, send_question
from tests.conftest import at

MONDAY = at("2026-11-16 07:30")


@pytest.fixture
def quiz(app, session, smtp):
    """A campaign with 5 questions, one participant who got question 1 on Monday."""
    campaign, qs = make_quiz(session, MONDAY)
    [sanne] = make_players(session, campaign, MONDAY, 1)
    sanne.name = "Sanne"
    session.commit()
    send_question(app, session, sanne, qs.questions[0], MONDAY)
    [message] = smtp.messages
    return {"campaign": campaign, "qs": qs, "participant": sanne, "message": message}


def answer_links(message) -> list[str]:
    return [link for link in links(message) if link.startswith("/a/")]


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


# --- the email ------------------------------------------------------------------


def test_question_email_text_part(quiz):
    msg = quiz["message"]
    assert msg["Subject"] == "Vraag 1 van 5: Vraag over stap 1"
    text = msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert "Hallo Sanne," in text
    assert "dag 1 van 5 van MeldcodeQuiz test" in text
    assert "Je ziet signalen bij een kind (vraag 1). Wat doe je eerst?" in text  # Markdown as plain text
    for label in "ABCD":
        assert re.search(rf"^{label}\. Antwoord {label} bij vraag 1\n   http://quiz\.test/a/\S+$", text, re.M)
    assert 'Druk daar op "Bevestig mijn antwoord"' in text
    assert re.search(r"Mijn quiz.*\nhttp://quiz\.test/mijn-quiz/\S+", text)
    assert "Je krijgt deze e-mail van het MeldcodeQuiz-team" in text
    assert "Privacyverklaring: http://quiz.test/privacy" in text
    # A text-only client shows lines a phone can wrap; no HTML leaks into it.
    assert "<" not in text and "**" not in text


def test_question_email_html_part_is_inlined_and_phone_sized(quiz):
    html = quiz["message"].get_body(preferencelist=("html",)).get_content()
    assert "<style" not in html  # inlined: mail clients drop style blocks
    assert 'name="viewport"' in html
    options = re.findall(r'<a class="option" href="(http://quiz\.test/a/[^"]+)" style="([^"]+)"', html)
    assert len(options) == 4
    assert all("display: block" in style for _, style in options)  # a large, full-width tap target
    assert "<strong>Wat doe je eerst?</strong>" in html
    assert "Bevestig mijn antwoord" in html
    assert re.search(r'href="http://quiz\.test/mijn-quiz/[^"]+"[^>]*>Mijn quiz</a>', html)
    assert 'href="http://quiz.test/privacy"' in html
    # The same four answer links in both parts.
    assert sorted(answer_links(quiz["message"])) == sorted(
        link for link in links(quiz["message"], "html") if link.startswith("/a/")
    )


def test_answer_tokens_carry_no_personal_data(quiz):
    import base64

    for link in answer_links(quiz["message"]):
        token = link.removeprefix("/a/")
        payload = token.split(".")[0]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        assert re.fullmatch(r"\[\d+,\d+,\d+\]", decoded)  # ids only
        assert len(token) < 80


# --- GET and HEAD never answer ------------------------------------------------------


def test_get_and_head_on_every_link_record_no_answer(client, session, quiz):
    every_link = set(links(quiz["message"])) | set(links(quiz["message"], "html"))
    assert len(every_link) >= 6  # four answers, Mijn quiz, privacy
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        for link in every_link:
            assert client.head(link).status_code == 200
        assert count(session, LinkHit) == 0, "HEAD changes nothing, not even the log"
        for link in every_link:
            assert client.get(link).status_code == 200
    assert count(session, Answer) == 0
    hits = session.scalars(select(LinkHit)).all()
    assert len(hits) == 4 and {h.method for h in hits} == {"GET"}


def test_all_options_within_seconds_is_flagged_as_a_sweep(client, session, quiz):
    with time_machine.travel(at("2026-11-16 07:31"), tick=True):
        for link in answer_links(quiz["message"]):
            client.get(
                link,
                headers={"User-Agent": "Mozilla/5.0 SafeLinks"},
                environ_base={"REMOTE_ADDR": "40.1.2.3"},
            )
    hits = session.scalars(select(LinkHit)).all()
    assert len(hits) == 4 and all(h.is_sweep for h in hits)
    assert all(h.user_agent == "Mozilla/5.0 SafeLinks" for h in hits)
    # The address is kept only as a keyed hash.
    assert all(h.client_hash and len(h.client_hash) == 64 and "40.1.2.3" not in h.client_hash for h in hits)


def test_a_person_tapping_one_option_is_not_a_sweep(client, session, quiz):
    first, second = answer_links(quiz["message"])[:2]
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        client.get(first)
    with time_machine.travel(at("2026-11-16 08:00:03"), tick=False):
        client.get(second)  # changed their mind: two options, not all four
    assert [h.is_sweep for h in session.scalars(select(LinkHit))] == [False, False]


def test_get_shows_the_question_with_the_option_preselected(client, quiz):
    link_c = answer_links(quiz["message"])[2]
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        page = client.get(link_c)
    assert page.status_code == 200
    assert "Vraag 1 van 5" in page.text and "<strong>Wat doe je eerst?</strong>" in page.text
    checked = re.findall(
        r'<input type="radio" name="option" id="option-\d+" value="(\d+)"( checked)?>', page.text
    )
    assert len(checked) == 4
    assert [bool(c) for _, c in checked] == [False, False, True, False]
    assert "Bevestig mijn antwoord" in page.text
    assert "<script" not in page.text  # answering needs no JavaScript
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "same-origin"


# --- POST answers ---------------------------------------------------------------


def option_ids(page_text: str) -> list[str]:
    return re.findall(r'name="option" id="option-\d+" value="(\d+)"', page_text)


def test_confirming_records_the_answer_and_shows_feedback(client, session, quiz):
    link_a = answer_links(quiz["message"])[0]
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        ids = option_ids(client.get(link_a).text)
        page = client.post(link_a, data={"option": ids[0]})
    assert page.status_code == 200
    assert "Helaas, dat is niet goed" in page.text
    assert "Jouw antwoord: <strong>A. Antwoord A bij vraag 1</strong>" in page.text
    assert "Het goede antwoord is <strong>B. Antwoord B bij vraag 1</strong>" in page.text
    assert "Je brengt signalen eerst <em>in kaart</em>." in page.text
    source = "https://www.rijksoverheid.nl/meldcode"
    assert f'<a href="{source}" rel="noopener noreferrer">Rijksoverheid: meldcode</a>' in page.text
    assert "javascript:" not in page.text  # an unsafe source shows as text, never as a link
    assert "Praat erover met je team" in page.text and "<em>aandachtsfunctionaris</em>" in page.text
    assert re.search(r'href="http://quiz\.test/mijn-quiz/[^"]+">Naar Mijn quiz', page.text)
    assert "al beantwoord" not in page.text
    answer = session.scalars(select(Answer)).one()
    assert answer.option.label == "A" and answer.answered_at == at("2026-11-16 08:00")


def test_another_option_can_be_chosen_on_the_confirm_page(client, session, quiz):
    link_a = answer_links(quiz["message"])[0]
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        ids = option_ids(client.get(link_a).text)
        page = client.post(link_a, data={"option": ids[1]})
    assert '<h1 class="result result-right">Goed!</h1>' in page.text
    assert "Klopt, zo staat het in stap 1." in page.text  # the option's own feedback
    assert session.scalars(select(Answer)).one().option.label == "B"


def test_only_the_first_answer_counts(client, session, quiz):
    link_a, link_b, link_c, _ = answer_links(quiz["message"])
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        ids = option_ids(client.get(link_a).text)
        client.post(link_a, data={"option": ids[0]})
    with time_machine.travel(at("2026-11-17 09:00"), tick=False):
        again = client.post(link_b, data={"option": ids[1]})
        revisit = client.get(link_c)
    assert count(session, Answer) == 1
    assert session.scalars(select(Answer)).one().option.label == "A"
    for page in (again, revisit):
        assert page.status_code == 200
        assert "Je hebt deze vraag al beantwoord op maandag 16 november 2026 om 08:00 uur." in page.text
        assert "Alleen je eerste antwoord telt, daarom kun je het niet meer veranderen." in page.text
        assert "Jouw antwoord: <strong>A." in page.text
        assert "Bevestig mijn antwoord" not in page.text
    assert "Je koos nu C, maar je eerste antwoord was A." in revisit.text


def test_post_without_an_option_asks_for_one(client, session, quiz):
    link = answer_links(quiz["message"])[0]
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        for data in ({}, {"option": "x"}, {"option": "999999"}, {"option": "-1"}):
            page = client.post(link, data=data)
            assert page.status_code == 422
            assert "Kies eerst een antwoord." in page.text
    assert count(session, Answer) == 0


def test_the_confirm_form_is_read_however_it_is_posted(app, client, session, smtp, quiz):
    """Browsers post our form urlencoded; the first value of a repeated field
    counts (werkzeug's MultiDict), and a multipart post from some other
    client is read as well."""
    link = answer_links(quiz["message"])[0]
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        ids = option_ids(client.get(link).text)
        body = f"option={ids[2]}&option={ids[0]}&hit=".encode()
        page = client.post(link, data=body, content_type="application/x-www-form-urlencoded; charset=UTF-8")
    assert page.status_code == 200 and "Jouw antwoord: <strong>C." in page.text
    assert session.scalars(select(Answer)).one().option.label == "C"

    send_question(app, session, quiz["participant"], quiz["qs"].questions[1], at("2026-11-17 07:30"))
    other = answer_links(smtp.messages[-1])[0]
    with time_machine.travel(at("2026-11-17 08:00"), tick=False):
        ids = option_ids(client.get(other).text)
        page = client.post(other, data={"option": str(ids[3])}, content_type="multipart/form-data")
    assert page.status_code == 200 and "Jouw antwoord: <strong>D." in page.text
    assert count(session, Answer) == 2


def test_a_confirm_body_that_is_not_our_form_records_nothing(client, session, quiz):
    link = answer_links(quiz["message"])[0]
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        option = option_ids(client.get(link).text)[0]
        urlencoded = "application/x-www-form-urlencoded"
        stuffed = client.post(link, data=f"option={option}" + "&x=1" * 30, content_type=urlencoded)
        broken = client.post(link, data=b"option=%ff%fe\xff", content_type=urlencoded)
        too_big = client.post(link, data=f"option={option}&x=" + "a" * 200_000, content_type=urlencoded)
    for page in (stuffed, broken):
        assert page.status_code == 422 and "Kies eerst een antwoord." in page.text
    assert too_big.status_code == 413
    assert count(session, Answer) == 0


def test_a_form_served_to_a_scanner_sweep_records_nothing(client, session, quiz):
    """A scanner that fetched every option and then presses a button gets asked
    to confirm once more instead of answering for the participant."""
    all_links = answer_links(quiz["message"])
    with time_machine.travel(at("2026-11-16 07:31"), tick=False):
        pages = [client.get(link).text for link in all_links]
        hit_id = re.search(r'name="hit" value="(\d+)"', pages[0]).group(1)
        page = client.post(all_links[0], data={"option": option_ids(pages[0])[0], "hit": hit_id})
    assert page.status_code == 200
    assert "Voor de zekerheid: bevestig je antwoord nog een keer." in page.text
    assert 'name="hit"' not in page.text
    assert count(session, Answer) == 0
    with time_machine.travel(at("2026-11-16 09:00"), tick=False):
        client.post(all_links[0], data={"option": option_ids(pages[0])[0]})
    assert count(session, Answer) == 1


def test_earlier_questions_can_be_caught_up_and_are_listed(app, client, session, smtp, quiz):
    qs, sanne = quiz["qs"], quiz["participant"]
    send_question(app, session, sanne, qs.questions[1], at("2026-11-17 07:30"))
    send_question(app, session, sanne, qs.questions[2], at("2026-11-18 07:30"))
    day3 = smtp.messages[-1]
    link = answer_links(day3)[1]
    with time_machine.travel(at("2026-11-18 12:00"), tick=False):
        page = client.post(link, data={"option": option_ids(client.get(link).text)[1]})
    listed = re.findall(r'<li><a href="http://quiz\.test(/mijn-quiz/[^"]+/vraag/(\d))">Vraag \d: ', page.text)
    assert [n for _, n in listed] == ["1", "2"]
    # The catch-up link leads to question 1 with nothing chosen yet, and answers it.
    with time_machine.travel(at("2026-11-25 12:00"), tick=False):
        redirect = client.get(listed[0][0])
        assert redirect.status_code == 303
        answer_page = redirect.headers["Location"]
        assert answer_page.startswith("/a/")
        open_page = client.get(answer_page)
        assert "Vraag 1 van 5" in open_page.text and " checked" not in open_page.text
        client.post(answer_page, data={"option": option_ids(open_page.text)[3]})
        # A question that has not gone out yet cannot be opened this way.
        assert client.get(listed[0][0].replace("/vraag/1", "/vraag/4")).status_code == 404
        assert client.get(listed[0][0].replace("/vraag/1", "/vraag/9")).status_code == 404
    answered = {a.question.position: a.option.label for a in session.scalars(select(Answer))}
    assert answered == {3: "B", 1: "D"}


def test_two_people_in_the_same_situation_each_get_their_own_page(app, client, session, smtp, quiz):
    """Sanne and Bram both got questions 1 and 2, and both answer question 2 with the
    same option: the pages share everything but their links. Bram answered
    question 1 earlier; for Sanne it stays open."""
    qs, sanne = quiz["qs"], quiz["participant"]
    bram = make_participant(session, quiz["campaign"], MONDAY, email="bram@example.org",
                            first_quiz_day=sanne.first_quiz_day)  # fmt: skip
    send_question(app, session, bram, qs.questions[0], MONDAY)
    bram_q1 = answer_links(smtp.messages[-1])[0]
    send_question(app, session, sanne, qs.questions[1], at("2026-11-17 07:30"))
    send_question(app, session, bram, qs.questions[1], at("2026-11-17 07:30"))
    sanne_q2, bram_q2 = (answer_links(m)[2] for m in smtp.messages[-2:])
    with time_machine.travel(at("2026-11-17 12:00"), tick=False):
        client.post(bram_q1, data={"option": option_ids(client.get(bram_q1).text)[0]})
        pages = {}
        for name, link in (("sanne", sanne_q2), ("bram", bram_q2)):
            pages[name] = client.post(link, data={"option": option_ids(client.get(link).text)[2]}).text
    mine = r'href="http://quiz\.test/mijn-quiz/([^"/]+)'
    own = {name: set(re.findall(mine, page)) for name, page in pages.items()}
    assert len(own["sanne"]) == len(own["bram"]) == 1 and own["sanne"] != own["bram"]
    forms = {name: re.findall(r'action="/besproken/([^"]+)"', page) for name, page in pages.items()}
    assert len(forms["sanne"]) == len(forms["bram"]) == 1 and forms["sanne"] != forms["bram"]
    assert "Nog niet beantwoord" in pages["sanne"] and "Vraag 1: " in pages["sanne"]
    assert "Nog niet beantwoord" not in pages["bram"]
    # Each page's "Mijn quiz" link opens that person's own overview.
    with time_machine.travel(at("2026-11-17 12:05"), tick=False):
        for name in ("sanne", "bram"):
            [token] = own[name]
            overview = client.get(f"/mijn-quiz/{token}").text
            assert ("Sanne" in overview) == (name == "sanne")


# --- the answer window ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        ("2026-11-20 23:59", 200),  # the last quiz day (Friday)
        ("2026-11-27 23:59", 200),  # the end of the week's grace
        ("2026-11-28 00:00", 410),
        ("2027-03-01 12:00", 410),
    ],
)
def test_links_work_until_the_quiz_ends_plus_grace(client, session, quiz, moment, status):
    link = answer_links(quiz["message"])[0]
    with time_machine.travel(at(moment), tick=False):
        page = client.get(link)
        assert page.status_code == status
        if status == 410:
            assert "Deze vraag is gesloten" in page.text
            assert client.post(link, data={"option": "1"}).status_code == 410
    assert count(session, Answer) == 0


def test_campaign_end_date_decides_when_set(client, session, quiz):
    quiz["campaign"].ends_on = quiz["campaign"].ends_on or at("2026-11-18 12:00").date()
    session.commit()
    link = answer_links(quiz["message"])[0]
    with time_machine.travel(at("2026-11-25 23:59"), tick=False):
        assert client.get(link).status_code == 200
    with time_machine.travel(at("2026-11-26 00:00"), tick=False):
        assert client.get(link).status_code == 410


def test_erased_participant_link_is_gone(client, session, quiz):
    participant = session.get(Participant, quiz["participant"].id)
    participant.status, participant.email, participant.name = "erased", None, None
    session.commit()
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        page = client.get(answer_links(quiz["message"])[0])
    assert page.status_code == 410
    assert "Sanne" not in page.text


def test_skipping_the_flush_wait_stays_with_the_answer(app, client, session, quiz):
    """On PostgreSQL the answer's INSERT does not wait for the WAL flush; that
    setting must not leak to the pooled connection's next transactions."""
    from sqlalchemy import text

    from quiz.db import database

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")
    link = answer_links(quiz["message"])[0]
    with time_machine.travel(at("2026-11-16 08:00"), tick=False):
        client.post(link, data={"option": option_ids(client.get(link).text)[0]})
    assert count(session, Answer) == 1
    session.close()
    engine = database(app).engine
    assert engine.pool.checkedout() == 0  # the requests' connections went back to the pool
    idle = engine.pool.checkedin()
    assert idle >= 1
    conns = [engine.connect() for _ in range(idle)]  # every pooled connection, the requests' among them
    try:
        for conn in conns:
            assert conn.scalar(text("SHOW synchronous_commit")) == "on"
            assert conn.connection.dbapi_connection.autocommit is False  # transactions again
    finally:
        for conn in conns:
            conn.close()
