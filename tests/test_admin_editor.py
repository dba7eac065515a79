"""The question-set editor: the TOML validator's problems next to the fields in
Dutch, the refusal of answer-changing edits once answers exist (and the new
version path), moving and deleting questions, import and export."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from quiz.models import Question, QuestionSet
from quiz.questionsets import validate_text
from quiz.questionsets.store import data_from_model
from tests.admin_factories import (
    answered_participant,
    campaign_with_set,
    flashes,
    import_meldcode,
)

DATA = Path(__file__).resolve().parent / "data" / "questions"


@pytest.fixture
def qs(session):
    return import_meldcode(session)


def form_data(question: Question) -> dict[str, str]:
    """The editor's fields for a stored question, as the browser would post them."""
    data = {
        "title": question.title,
        "meldcode_step": str(question.meldcode_step or ""),
        "body": question.body,
        "explanation": question.explanation,
        "discussion_prompt": question.discussion_prompt,
        "source-count": str(len(question.sources)),
        "action": "save",
    }
    for i, option in enumerate(question.options):
        data |= {f"option-{i}-label": option.label, f"option-{i}-text": option.text}
        data[f"option-{i}-feedback"] = option.feedback or ""
        if option.is_correct:
            data["correct"] = str(i)
    for i, source in enumerate(question.sources):
        data |= {f"source-{i}-title": source["title"], f"source-{i}-url": source["url"]}
    return data


def field_error(page: str, name: str) -> str | None:
    match = re.search(rf'<p class="error" id="{re.escape(name)}-error">(.*?)</p>', page, re.S)
    return match.group(1).strip() if match else None


def snapshot(session, qs: QuestionSet):
    session.expire_all()
    return data_from_model(session.get(QuestionSet, qs.id))


def test_the_set_list_and_page_show_the_questions(admin, qs):
    listing = admin.get("/admin/vragensets")
    assert qs.title in listing.text and "nieuwste" in listing.text
    page = admin.get(f"/admin/vragensets/{qs.id}")
    for question in qs.questions:
        assert question.title in page.text
    assert "Stuur mij een test" in page.text


def test_editing_a_question_saves_it(admin, session, qs):
    question = qs.questions[1]
    data = form_data(question) | {"title": "Een betere titel", "option-1-feedback": "Let op: zo niet."}
    response = admin.post(f"/admin/vragensets/{qs.id}/vraag/2", data)
    assert response.status_code == 303
    assert "Opgeslagen." in flashes(admin.get(response.headers["Location"]).text)
    saved = snapshot(session, qs).questions[1]
    assert saved.title == "Een betere titel"
    assert saved.options[1].feedback == "Let op: zo niet."


def test_an_unchanged_form_round_trips_exactly(admin, session, qs):
    before = snapshot(session, qs)
    for question in qs.questions:
        admin.post(f"/admin/vragensets/{qs.id}/vraag/{question.position}", form_data(question))
    assert snapshot(session, qs) == before


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": ""}, "title", "'Titel' is leeg"),
        (
            {"title": "x" * 121},
            "title",
            "'Titel' is 121 tekens lang; er passen er maximaal 120 goed in een e-mail",
        ),
        ({"body": "Zie [hier](javascript:alert(1))"}, "body", "De link naar 'javascript:alert(1)' mag niet"),
        (
            {"option-0-label": "a!"},
            "option-0-label",
            "Het label moet één of twee hoofdletters of cijfers zijn",
        ),
        ({"option-1-label": "A"}, "option-1-label", "Het label 'A' komt twee keer voor in deze vraag"),
        ({"option-2-text": ""}, "option-2-text", "'Antwoord' is leeg"),
        ({"correct": ""}, "options", "Geen antwoord is als goed gemarkeerd"),
        ({"source-0-url": "http://example.org"}, "source-0-url", "Een bron-URL begint met https://"),
    ],
)
def test_problems_appear_next_to_their_field_in_dutch(admin, session, qs, change, field, message):
    before = snapshot(session, qs)
    response = admin.post(f"/admin/vragensets/{qs.id}/vraag/1", form_data(qs.questions[0]) | change)
    assert response.status_code == 422
    assert "Niet opgeslagen: controleer de vraag" in response.text
    error = field_error(response.text, field)
    assert error is not None and message in error.replace("&#39;", "'"), error
    assert snapshot(session, qs) == before  # nothing written
    # What was typed stays in the form.
    for value in change.values():
        if value and "javascript" not in value:
            assert value.replace("&", "&amp;") in response.text


def test_too_few_options_is_reported_on_the_options(admin, qs):
    data = form_data(qs.questions[0])
    for i in range(1, 5):
        data |= {f"option-{i}-label": "", f"option-{i}-text": "", f"option-{i}-feedback": ""}
    data["correct"] = "0"
    response = admin.post(f"/admin/vragensets/{qs.id}/vraag/1", data)
    assert response.status_code == 422
    assert "Een vraag heeft 2 tot 5 antwoorden nodig; deze heeft er 1" in field_error(
        response.text, "options"
    )


def test_the_editor_and_the_toml_validator_agree(admin, qs):
    """The same mistakes, made in the file and in the editor, give the same problems."""
    q1 = qs.questions[0]
    toml = admin.get(f"/admin/vragensets/{qs.id}/export.toml").data.decode("utf-8")
    start = toml.index("[[questions]]")
    broken = toml[:start] + toml[start:].replace(f'title = "{q1.title}"', 'title = ""', 1).replace(
        f'text = "{q1.options[0].text}"', 'text = ""', 1
    )
    in_file = validate_text(broken).problems
    assert [p.code for p in in_file] == ["empty", "empty"]

    page = admin.post(
        f"/admin/vragensets/{qs.id}/vraag/1", form_data(q1) | {"title": "", "option-0-text": ""}
    ).text.replace("&#39;", "'")
    assert len(re.findall(r'<p class="error" id="[^"]+-error">', page)) == len(in_file)
    assert field_error(page, "title") == "'Titel' is leeg"
    assert field_error(page, "option-0-text") == "'Antwoord' is leeg"


def test_moving_an_answer_without_javascript_saves_nothing(admin, session, qs):
    before = snapshot(session, qs)
    data = form_data(qs.questions[0]) | {"move": "0:down"}
    response = admin.post(f"/admin/vragensets/{qs.id}/vraag/1", data)
    assert response.status_code == 200
    assert "Nog niet opgeslagen" in response.text
    first, second = qs.questions[0].options[0], qs.questions[0].options[1]
    assert response.text.index(f'value="{second.text}"') < response.text.index(f'value="{first.text}"')
    assert snapshot(session, qs) == before


def test_adding_a_question(admin, session, qs):
    data = form_data(qs.questions[0]) | {"title": "Een zesde vraag"}
    response = admin.post(f"/admin/vragensets/{qs.id}/vraag/nieuw", data)
    assert response.status_code == 303
    after = snapshot(session, qs)
    assert len(after.questions) == 6 and after.questions[5].title == "Een zesde vraag"
    assert after.questions[5].day == 6


def test_moving_and_deleting_questions_without_answers(admin, session, qs):
    titles = [q.title for q in qs.questions]
    admin.post(f"/admin/vragensets/{qs.id}/vraag/1/verplaatsen", {"direction": "down"})
    assert [q.title for q in snapshot(session, qs).questions] == [titles[1], titles[0], *titles[2:]]
    confirm = admin.get(f"/admin/vragensets/{qs.id}/vraag/3/verwijderen")
    assert "Vraag 3 verwijderen?" in confirm.text
    admin.post(f"/admin/vragensets/{qs.id}/vraag/3/verwijderen")
    after = snapshot(session, qs)
    assert [q.title for q in after.questions] == [titles[1], titles[0], titles[3], titles[4]]
    assert [q.day for q in after.questions] == [1, 2, 3, 4]


# --- once answers exist ----------------------------------------------------------


@pytest.fixture
def answered(session):
    campaign, qs = campaign_with_set(session)
    answered_participant(session, campaign, qs)
    return campaign, qs


def test_with_answers_text_fixes_are_saved(admin, session, answered):
    _, qs = answered
    data = form_data(qs.questions[0]) | {"option-0-text": qs.questions[0].options[0].text + " (verbeterd)"}
    assert admin.post(f"/admin/vragensets/{qs.id}/vraag/1", data).status_code == 303
    assert snapshot(session, qs).questions[0].options[0].text.endswith("(verbeterd)")


def test_with_answers_changing_the_correct_option_is_refused_then_saved_as_a_new_version(
    admin, session, answered
):
    campaign, qs = answered
    before = snapshot(session, qs)
    correct = next(i for i, o in enumerate(qs.questions[0].options) if o.is_correct)
    other = (correct + 1) % len(qs.questions[0].options)
    data = form_data(qs.questions[0]) | {"correct": str(other)}
    refused = admin.post(f"/admin/vragensets/{qs.id}/vraag/1", data)
    assert refused.status_code == 409
    labels = [o.label for o in qs.questions[0].options]
    assert (
        f"Dag 1: het goede antwoord zou veranderen van {labels[correct]} naar {labels[other]}."
        in refused.text
    )
    assert "Opslaan als nieuwe versie" in refused.text
    assert snapshot(session, qs) == before

    saved = admin.post(f"/admin/vragensets/{qs.id}/vraag/1", data | {"action": "new_version"})
    assert saved.status_code == 303
    versions = session.scalars(
        select(QuestionSet).where(QuestionSet.slug == qs.slug).order_by(QuestionSet.version)
    )
    old, new = versions.all()
    assert snapshot(session, old) == before  # answers keep their meaning
    assert new.version == 2 and new.questions[0].options[other].is_correct
    session.refresh(campaign)
    assert campaign.question_set_id == old.id  # campaigns keep their version
    assert "Opgeslagen als nieuwe versie 2" in flashes(admin.get(saved.headers["Location"]).text)[0]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("remove_option", "Dag 1: antwoord"),
        ("move_question", "zou van dag 1 naar dag 2 verhuizen"),
        ("delete_question", "Dag 5 ("),
    ],
)
def test_with_answers_structural_changes_are_refused(admin, session, answered, action, message):
    _, qs = answered
    before = snapshot(session, qs)
    if action == "remove_option":
        last = len(qs.questions[0].options) - 1
        data = form_data(qs.questions[0]) | {f"option-{last}-label": "", f"option-{last}-text": ""}
        data[f"option-{last}-feedback"] = ""
        if data["correct"] == str(last):
            data["correct"] = "0"
        page = admin.post(f"/admin/vragensets/{qs.id}/vraag/1", data).text
    else:
        url = f"/admin/vragensets/{qs.id}/vraag/1/verplaatsen" if action == "move_question" else (
            f"/admin/vragensets/{qs.id}/vraag/1/verwijderen")  # fmt: skip
        response = admin.post(url, {"direction": "down"})
        page = admin.get(response.headers["Location"]).text
    assert message in page
    assert snapshot(session, qs) == before


def test_an_older_version_is_read_only(admin, session, answered):
    _, qs = answered
    admin.post(f"/admin/vragensets/{qs.id}/nieuwe-versie")
    before = snapshot(session, qs)
    response = admin.post(
        f"/admin/vragensets/{qs.id}/vraag/1", form_data(qs.questions[0]) | {"title": "Nieuw"}
    )
    assert response.status_code == 303
    assert (
        "Alleen de nieuwste versie kun je bewerken"
        in flashes(admin.get(response.headers["Location"]).text)[0]
    )
    assert snapshot(session, qs) == before
    assert "oudere versie" in admin.get(f"/admin/vragensets/{qs.id}/vraag/1").text


# --- set settings, new set, import, export ------------------------------------------


def test_set_settings_are_checked_and_saved(admin, session, qs):
    bad = admin.post(
        f"/admin/vragensets/{qs.id}/instellingen", {"title": "", "intro": "", "sector_notice": "x"}
    )
    assert bad.status_code == 422 and "'Titel' is leeg" in bad.text.replace("&#39;", "'")
    good = admin.post(
        f"/admin/vragensets/{qs.id}/instellingen", {"title": "Nieuwe titel", "sector_notice": "Let op"}
    )
    assert good.status_code == 302
    assert snapshot(session, qs).title == "Nieuwe titel"


def test_a_new_set_starts_with_an_example_question(admin, session):
    response = admin.post(
        "/admin/vragensets/nieuw", {"slug": "proef-2027", "title": "Proef", "sector_notice": "Let op"}
    )
    assert response.status_code == 302
    created = session.scalar(select(QuestionSet).where(QuestionSet.slug == "proef-2027"))
    assert created is not None and len(created.questions) == 1
    again = admin.post(
        "/admin/vragensets/nieuw", {"slug": "proef-2027", "title": "Proef", "sector_notice": "x"}
    )
    assert again.status_code == 422 and "Er is al een set met deze korte naam" in again.text
    wrong = admin.post(
        "/admin/vragensets/nieuw", {"slug": "Proef 2027", "title": "Proef", "sector_notice": "x"}
    )
    assert "De slug mag alleen kleine letters" in wrong.text


def test_export_downloads_toml_that_reimports_to_the_same_set(admin, qs):
    response = admin.get(f"/admin/vragensets/{qs.id}/export.toml")
    assert response.status_code == 200
    assert f'filename="{qs.slug}-v1.toml"' in response.headers["Content-Disposition"]
    assert validate_text(response.data.decode("utf-8")).data == data_from_model(qs)


def test_import_of_a_broken_file_lists_the_problems_with_lines_and_imports_nothing(admin, session):
    content = (DATA / "no_correct.toml").read_bytes()
    upload = {"file": (io.BytesIO(content), "set.toml")}
    response = admin.post("/admin/vragensets/importeren", upload, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Niet geïmporteerd: set.toml" in response.text
    assert re.search(r"Regel \d+: Vraag \d+: geen antwoord is als goed gemarkeerd", response.text)
    assert session.scalar(select(func.count()).select_from(QuestionSet)) == 0


def test_import_refused_with_answers_then_as_a_new_version(admin, session, answered):
    _, qs = answered
    toml = admin.get(f"/admin/vragensets/{qs.id}/export.toml").data.decode("utf-8")
    first_correct = next(o for o in qs.questions[0].options if o.is_correct)
    changed = _move_correct(toml, first_correct.label)
    refused = admin.post("/admin/vragensets/importeren", {"text": changed})
    assert refused.status_code == 409
    assert "het goede antwoord zou veranderen" in refused.text
    assert "Importeer als nieuwe versie" in refused.text
    accepted = admin.post("/admin/vragensets/importeren", {"text": changed, "new_version": "1"})
    assert accepted.status_code == 302
    assert session.scalar(select(func.max(QuestionSet.version)).where(QuestionSet.slug == qs.slug)) == 2


def _move_correct(toml: str, label: str) -> str:
    """The first question's `correct = true` moved to another option."""
    start = toml.index("[[questions]]")
    head, rest = toml[:start], toml[start:]
    rest = rest.replace("correct = true\n", "", 1)
    other = "B" if label != "B" else "A"
    rest = rest.replace(f'label = "{other}"\n', f'label = "{other}"\ncorrect = true\n', 1)
    return head + rest


def test_empty_import_is_explained(admin):
    response = admin.post("/admin/vragensets/importeren", {"text": "  "})
    assert response.status_code == 422
    assert "Kies een bestand of plak de tekst" in response.text


# --- the error summary and the reorder buttons (issue 19, item 8) -----------------


def summary_links(page: str) -> list[tuple[str, str]]:
    """(target id, text) of each link in the error summary at the top of the page."""
    match = re.search(r'<div class="error-summary"[^>]*data-error-summary>(.*?)</div>', page, re.S)
    assert match, "no error summary"
    links = re.findall(r'<a href="#([^"]+)">(.*?)</a>', match.group(1), re.S)
    return [(target, text.replace("&#39;", "'").strip()) for target, text in links]


def test_editor_errors_are_summarised_at_the_top_with_a_link_to_each_field(admin, qs):
    data = form_data(qs.questions[0]) | {"title": "", "option-1-label": "A", "correct": ""}
    page = admin.post(f"/admin/vragensets/{qs.id}/vraag/1", data).text
    assert "velden staat wat er niet klopt" not in page
    assert summary_links(page) == [
        ("title", "'Titel' is leeg"),
        (
            "option-0-label",
            "Antwoorden: Geen antwoord is als goed gemarkeerd; zet bij precies één antwoord correct = true",
        ),
        ("option-1-label", "Antwoord 2: Het label 'A' komt twee keer voor in deze vraag"),
    ]
    # Every link has its field on the page.
    for target, _ in summary_links(page):
        assert f'id="{target}"' in page


def test_set_forms_summarise_their_errors(admin, qs):
    settings = admin.post(f"/admin/vragensets/{qs.id}/instellingen", {"title": "", "sector_notice": "x"}).text
    assert summary_links(settings) == [("title", "'Titel' is leeg")]
    new = admin.post(
        "/admin/vragensets/nieuw", {"slug": "Proef 2027", "title": "", "sector_notice": "x"}
    ).text
    assert [target for target, _ in summary_links(new)] == ["slug", "title"]


def move_buttons(page: str) -> list[str]:
    return re.findall(r"<button[^>]*class=\"icon-button\"[^>]*>[↑↓]</button>", page)


def test_without_answers_questions_and_answers_can_be_moved(admin, qs):
    for url in (f"/admin/vragensets/{qs.id}", f"/admin/vragensets/{qs.id}/vraag/2"):
        page = admin.get(url).text
        buttons = move_buttons(page)
        # Only the first ↑ and the last ↓ are off: there is nowhere to go.
        assert [" disabled" in b for b in buttons] == [True] + [False] * (len(buttons) - 2) + [True]
        assert "Verplaatsen kan niet" not in page


def test_with_answers_the_move_buttons_are_disabled_and_say_why(admin, session, answered):
    _, qs = answered
    for url in (f"/admin/vragensets/{qs.id}", f"/admin/vragensets/{qs.id}/vraag/1"):
        page = admin.get(url).text
        assert (
            '<p class="hint" id="order-locked">Verplaatsen kan niet: er zijn al antwoorden op deze versie'
            in page
        )
        buttons = move_buttons(page)
        assert buttons and all(" disabled" in b and 'aria-describedby="order-locked"' in b for b in buttons)
    # A page from before the first answer: the move is refused with the same reason.
    before = snapshot(session, qs)
    response = admin.post(
        f"/admin/vragensets/{qs.id}/vraag/1", form_data(qs.questions[0]) | {"move": "0:down"}
    )
    assert response.status_code == 409
    assert "Verplaatsen kan niet" in response.text
    first, second = qs.questions[0].options[0], qs.questions[0].options[1]
    assert response.text.index(f'value="{first.text}"') < response.text.index(f'value="{second.text}"')
    assert snapshot(session, qs) == before
    # A new question has no answers yet: its answers can still be put in order.
    new = admin.get(f"/admin/vragensets/{qs.id}/vraag/nieuw").text
    assert "Verplaatsen kan niet" not in new
    assert [" disabled" in b for b in move_buttons(new)].count(False) > 0
