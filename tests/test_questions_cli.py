"""`flask --app wsgi quiz questions validate|import|export|preview`."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quiz.models import Answer, LinkHit, QuestionSet
from tests.conftest import at
from tests.factories import make_campaign, make_participant
from tests.test_questions_validate import DATA, SHIPPED


def quiz(runner: FlaskCliRunner, *args: str):  # noqa: ANN201
    return runner.invoke(args=["quiz", "questions", *args])


def sets(session: Session) -> list[tuple[str, int]]:
    session.expire_all()
    return [(qs.slug, qs.version) for qs in session.scalars(select(QuestionSet).order_by(QuestionSet.id))]


def test_validate_says_ok_with_the_number_of_questions(runner: FlaskCliRunner) -> None:
    result = quiz(runner, "validate", str(SHIPPED))
    assert result.exit_code == 0
    assert result.output == f"{SHIPPED}: OK: 5 questions\n"


def test_validate_prints_warnings_but_passes(runner: FlaskCliRunner, tmp_path: Path) -> None:
    from tests.test_questions_validate import SOURCES

    path = tmp_path / "bronnen.toml"
    path.write_text(SOURCES, "utf-8")
    result = quiz(runner, "validate", str(path))
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"{path}:16:1: warning: question 1, source 1: 'https://www.augeo.nl' is a home page; "
        "link the page that supports the claim instead  [questions[0].sources[0].url]",
        f"{path}:20:1: warning: question 1, source 2: 'https://www.augeo.nl/' is a home page; "
        "link the page that supports the claim instead  [questions[0].sources[1].url]",
        f"{path}: OK: 1 questions",
    ]


def test_validate_prints_every_problem_and_fails(runner: FlaskCliRunner) -> None:
    broken = DATA / "two_correct.toml"
    result = quiz(runner, "validate", str(SHIPPED), str(broken), "does-not-exist.toml")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{SHIPPED}: OK: 5 questions" in lines
    assert (
        f"{broken}:24:1: question 1, option 3: option C is marked correct too, but option A already is; "
        "mark exactly one  [questions[0].options[2].correct]"
    ) in lines
    assert "does-not-exist.toml: cannot read the file: No such file or directory" in lines


def test_import_of_a_broken_file_writes_nothing(runner: FlaskCliRunner, session: Session) -> None:
    result = quiz(runner, "import", str(DATA / "day_gap.toml"))
    assert result.exit_code == 1
    assert "day_gap.toml:15:1: question 2: day 2 is missing" in result.output
    assert "Nothing imported." in result.output
    assert sets(session) == []


def test_import_then_reimport_is_harmless(runner: FlaskCliRunner, session: Session) -> None:
    first = quiz(runner, "import", str(SHIPPED))
    assert first.exit_code == 0, first.output
    assert first.output == "Imported 'meldcode' version 1 as a new set (5 questions).\n"
    again = quiz(runner, "import", str(SHIPPED))
    assert again.exit_code == 0
    assert again.output == f"'meldcode' version 1 is already present, left as is: it equals {SHIPPED}.\n"
    # Asking for a new version of what is stored already makes no copy.
    same = quiz(runner, "import", str(SHIPPED), "--new-version")
    assert same.output == again.output
    assert sets(session) == [("meldcode", 1)]


def _edit_in_database(session: Session) -> None:
    """What an organiser's edit in /admin leaves in the database."""
    question = session.scalars(select(QuestionSet)).one().questions[0]
    question.title = "Stap 1: aangepast door de organisatie"
    session.commit()


def test_reimport_never_overwrites_edits_made_in_the_database(
    runner: FlaskCliRunner, session: Session
) -> None:
    """Issue 19, item 1: `make run` imports the shipped file at every start;
    before, that silently undid what an organiser had changed in /admin."""
    quiz(runner, "import", str(SHIPPED))
    _edit_in_database(session)

    again = quiz(runner, "import", str(SHIPPED))
    assert again.exit_code == 0
    assert again.output.splitlines() == [
        f"'meldcode' version 1 is already present, left as is: it differs from {SHIPPED} "
        "(edits made in /admin are kept).",
        f"To publish the file as version 2: flask --app wsgi quiz questions import {SHIPPED} --new-version",
    ]
    session.expire_all()
    assert session.scalars(select(QuestionSet)).one().questions[0].title == (
        "Stap 1: aangepast door de organisatie"
    )


def test_new_version_publishes_the_file_next_to_the_answered_one(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    quiz(runner, "import", str(SHIPPED))
    qs = session.scalars(select(QuestionSet)).one()
    now = at("2026-11-16 09:00")
    participant = make_participant(session, make_campaign(session, now, question_set_id=qs.id), now)
    day1 = qs.questions[0]
    session.add(Answer(participant=participant, question=day1, option=day1.options[0], answered_at=now))
    session.commit()
    # Make A the correct answer of day 1 instead of B.
    text = SHIPPED.read_text("utf-8").replace(
        'feedback = "De meldcode vraagt je', 'correct = true\nfeedback = "De meldcode vraagt je', 1
    )
    text = text.replace(
        'correct = true\nfeedback = "Goed: dit is de kindcheck', 'feedback = "Goed: dit is de kindcheck'
    )
    edited = tmp_path / "meldcode.toml"
    edited.write_text(text, "utf-8")

    kept = quiz(runner, "import", str(edited))
    assert kept.exit_code == 0
    assert "'meldcode' version 1 is already present, left as is" in kept.output
    assert sets(session) == [("meldcode", 1)]

    published = quiz(runner, "import", str(edited), "--new-version")
    assert published.exit_code == 0
    assert published.output == (
        "Imported 'meldcode' version 2 as a new version (5 questions). "
        "Campaigns keep the version they use; choose this one for a campaign in /admin.\n"
    )
    assert sets(session) == [("meldcode", 1), ("meldcode", 2)]
    session.expire_all()
    assert session.get(QuestionSet, qs.id).questions[0].options[1].is_correct


def test_export_reimports_unchanged(runner: FlaskCliRunner, tmp_path: Path) -> None:
    quiz(runner, "import", str(SHIPPED))
    to_stdout = quiz(runner, "export", "meldcode")
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout.startswith("# Question set 'meldcode', version 1.\n")
    target = tmp_path / "export.toml"
    assert quiz(runner, "export", "meldcode", "-o", str(target)).exit_code == 0
    assert target.read_text("utf-8") == to_stdout.stdout
    again = quiz(runner, "import", str(target))
    assert again.output == f"'meldcode' version 1 is already present, left as is: it equals {target}.\n"


def test_export_of_an_unknown_set(runner: FlaskCliRunner) -> None:
    result = quiz(runner, "export", "bestaat-niet")
    assert result.exit_code == 1
    assert "no question set 'bestaat-niet'; import it first" in result.output


def test_preview_prints_text_writes_html_and_its_links_record_nothing(
    app: Flask, runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    quiz(runner, "import", str(SHIPPED))
    html_file = tmp_path / "day3.html"
    result = quiz(runner, "preview", "meldcode", "--day", "3", "--html-out", str(html_file))
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("PREVIEW of 'meldcode' version 1, day 3. The answer links are preview links")
    assert "Stap 3: het gesprek met de ouders" in out
    assert "Nooit. Ik moet de ouders altijd eerst om toestemming vragen" in out
    assert f"HTML version written to {html_file}." in out
    html = html_file.read_text("utf-8")
    assert "<html" in html and "Stap 3: het gesprek met de ouders" in html

    links = re.findall(r"http://quiz\.test(/voorbeeld/\S+)", out)
    assert len(links) == 4
    page = app.test_client().get(links[0])
    assert page.status_code == 200
    assert session.scalar(select(func.count(LinkHit.id))) == 0
    assert session.scalar(select(func.count(Answer.id))) == 0


def test_preview_of_a_day_that_does_not_exist(runner: FlaskCliRunner) -> None:
    quiz(runner, "import", str(SHIPPED))
    result = quiz(runner, "preview", "meldcode", "--day", "9")
    assert result.exit_code == 1
    assert "'meldcode' version 1 has days 1 to 5, not 9" in result.output
