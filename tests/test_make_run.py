"""`make run` on a developer's database: the commands its recipe runs
before starting the processes, taken from the Makefile itself and run as the
real CLI in subprocesses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quiz.models import Answer, Campaign, QuestionSet
from tests.conftest import at
from tests.factories import make_campaign, make_participant
from tests.test_questions_shipped import VERSION_1

ROOT = Path(__file__).resolve().parent.parent


def run_recipe_commands() -> list[list[str]]:
    """The `$(BIN)/flask …` lines of the Makefile's `run` target, as argument lists."""
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text("utf-8"), re.M)
    assert recipe is not None
    flask = str(Path(sys.executable).parent / "flask")
    return [
        [flask, *line.split()[1:]]
        for line in recipe.group(1).splitlines()
        if line.strip().startswith("$(BIN)/flask ")
    ]


def run_setup(db_url: str, tmp_path: Path) -> list[str]:
    env = {
        **os.environ,
        "QUIZ_DATABASE_URL": db_url,
        "QUIZ_DEV_MAILBOX_DIR": str(tmp_path / "mailbox"),
    }
    outputs = []
    for command in run_recipe_commands():
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(command[1:])} failed:\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    return outputs


def test_the_recipe_imports_the_shipped_set_and_makes_a_public_campaign(
    client: FlaskClient, db_url: str, session: Session, tmp_path: Path
) -> None:
    init_db, imported, campaign = run_setup(db_url, tmp_path)
    assert imported == "Imported 'meldcode' version 1 as a new set (5 questions).\n"
    assert campaign == "Created campaign 'meldcodequiz' (public: / serves it).\n"
    assert 'name="email"' in client.get("/").text
    # A restart leaves everything as it is.
    _, imported, campaign = run_setup(db_url, tmp_path)
    assert "'meldcode' version 1 is already present, left as is" in imported
    assert campaign.startswith("Using campaign 'meldcodequiz'")


def test_make_run_starts_on_a_database_with_answers_on_an_older_version(
    runner: FlaskCliRunner, db_url: str, session: Session, tmp_path: Path
) -> None:
    """Issue 19, item 1: a developer's database has answers on version 1 of
    the shipped set; the shipped file is version 2, whose day 5 has another
    correct option. Before, `make run` stopped at the import ("Refused")
    until the developer ran it with --new-version."""
    assert runner.invoke(args=["quiz", "questions", "import", str(VERSION_1)]).exit_code == 0
    v1 = session.scalars(select(QuestionSet)).one()
    now = at("2026-11-16 09:00")
    participant = make_participant(session, make_campaign(session, now, question_set_id=v1.id), now)
    day5 = v1.questions[4]
    session.add(Answer(participant=participant, question=day5, option=day5.options[2], answered_at=now))
    session.commit()

    outputs = run_setup(db_url, tmp_path)

    assert (
        "'meldcode' version 1 is already present, left as is: it differs from questions/meldcode.toml"
    ) in outputs[1]
    assert "--new-version" in outputs[1]
    session.expire_all()
    assert [(qs.slug, qs.version) for qs in session.scalars(select(QuestionSet))] == [("meldcode", 1)]
    assert session.scalar(select(func.count(Answer.id))) == 1
    assert session.scalars(select(Campaign)).one().question_set_id == v1.id


def address_line() -> str:
    """The Makefile's `run` line that prints the address, as bash runs it."""
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text("utf-8"), re.M)
    assert recipe is not None
    line = next(line for line in recipe.group(1).splitlines() if "gunicorn.conf.py" in line)
    bin_dir = str(Path(sys.executable).parent)
    line = line.strip().lstrip("@").replace("$(CURDIR)/$(BIN)", bin_dir).replace("$(BIN)", bin_dir)
    return line.replace("$$", "$")


@pytest.mark.parametrize(
    ("settings", "address", "listening"),
    [
        ({}, "http://127.0.0.1:5000", "127.0.0.1:5000"),
        ({"PORT": "8123"}, "http://127.0.0.1:8123", "127.0.0.1:8123"),
        ({"PORT": "8123", "QUIZ_BIND": "0.0.0.0:8200"}, "http://127.0.0.1:8200", "0.0.0.0:8200"),
    ],
)
def test_make_run_prints_the_address_the_web_process_uses(
    settings: dict[str, str], address: str, listening: str
) -> None:
    """Issue 19, item 9: it printed http://127.0.0.1:5000 whatever PORT or QUIZ_BIND said."""
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "QUIZ_BIND", "QUIZ_BASE_URL")}
    done = subprocess.run(
        ["bash", "-c", address_line()],
        cwd=ROOT,
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Open {address} (dev mailbox: {address}/dev/mailbox); listening on {listening}."
    if address == "http://127.0.0.1:5000":
        assert lines[1:] == []
    else:
        # Links in emails still go to the default QUIZ_BASE_URL; the next line says how to follow them.
        assert lines[1:] == [
            "Links in emails go to QUIZ_BASE_URL=http://127.0.0.1:5000. To follow them to this process, "
            f"set QUIZ_BASE_URL={address} (environment or .env)."
        ]
