"""Question-set commands: validate, import, export, preview."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from quiz.db import get_session, utcnow
from quiz.models import Question, QuestionSet
from quiz.questionsets import Validated, validate_bytes
from quiz.questionsets.export import to_toml
from quiz.questionsets.store import data_from_model, import_file, latest_version


def _validate_file(path: str) -> Validated | None:
    """Validate one file and print its problems; None when it cannot be read."""
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        click.echo(f"{path}: cannot read the file: {exc.strerror or exc}", err=True)
        return None
    result = validate_bytes(content, path)
    # Warnings first would bury the errors; they come after, and never fail the command.
    for problem in [*result.problems, *result.warnings]:
        click.echo(f"{problem}  [{problem.path}]" if problem.path else str(problem))
    return result


def _find_set(slug: str, version: int | None) -> QuestionSet:
    session = get_session()
    if version is None:
        question_set = latest_version(session, slug)
    else:
        question_set = session.scalar(
            select(QuestionSet).where(QuestionSet.slug == slug, QuestionSet.version == version)
        )
    if question_set is None:
        which = f"{slug!r} version {version}" if version else repr(slug)
        raise click.ClickException(
            f"no question set {which}; import it first with `quiz questions import FILE`"
        )
    return question_set


def register(group: AppGroup) -> None:
    @group.group("questions")
    def questions() -> None:
        """Validate, import, export and preview question sets (TOML files in questions/)."""

    @questions.command("validate")
    @click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
    def validate(files: tuple[str, ...]) -> None:
        """Check question-set files; print every problem as FILE:LINE:COL: message."""
        failed = False
        for path in files:
            result = _validate_file(path)
            if result is None or result.data is None:
                failed = True
                continue
            click.echo(f"{path}: OK: {len(result.data.questions)} questions")
        if failed:
            raise SystemExit(1)

    @questions.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option(
        "--new-version",
        is_flag=True,
        help="Store the file as a new version of a set that is already stored.",
    )
    def import_(file: str, new_version: bool) -> None:
        """Validate FILE and store it when its set is missing, or as a new version.

        A stored set is never overwritten: it may hold edits made in /admin.
        All of the file is stored, or nothing when anything is wrong.
        """
        result = _validate_file(file)
        if result is None or result.data is None:
            click.echo("Nothing imported.", err=True)
            raise SystemExit(1)
        try:
            outcome = import_file(get_session(), result.data, utcnow(), new_version=new_version)
        except IntegrityError:
            click.echo(
                "Nothing imported: another import of the same set ran at the same time. Try again.", err=True
            )
            raise SystemExit(1) from None
        qs = outcome.question_set
        name = f"{qs.slug!r} version {qs.version}"
        if outcome.action == "created":
            click.echo(f"Imported {name} as a new set ({len(result.data.questions)} questions).")
        elif outcome.action == "new_version":
            click.echo(
                f"Imported {name} as a new version ({len(result.data.questions)} questions). "
                "Campaigns keep the version they use; choose this one for a campaign in /admin."
            )
        elif outcome.action == "present":
            click.echo(f"{name} is already present, left as is: it equals {file}.")
        else:
            click.echo(
                f"{name} is already present, left as is: it differs from {file} "
                "(edits made in /admin are kept).\n"
                f"To publish the file as version {qs.version + 1}: "
                f"flask --app wsgi quiz questions import {file} --new-version"
            )

    @questions.command("export")
    @click.argument("slug")
    @click.option("--version", type=int, help="Which version (default: the newest).")
    @click.option(
        "-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout."
    )
    def export(slug: str, version: int | None, output: str | None) -> None:
        """Write a stored set as TOML that re-imports to the same set."""
        question_set = _find_set(slug, version)
        text = to_toml(
            data_from_model(question_set),
            comment=f"Question set {question_set.slug!r}, version {question_set.version}.\n"
            "Check with: flask --app wsgi quiz questions validate FILE",
        )
        if output:
            Path(output).write_text(text, encoding="utf-8")
            click.echo(f"Wrote {output}.", err=True)
        else:
            click.echo(text, nl=False)

    @questions.command("preview")
    @click.argument("slug")
    @click.option("--day", type=int, required=True, help="Which day's question (1, 2, …).")
    @click.option("--version", type=int, help="Which version (default: the newest).")
    @click.option(
        "--html-out",
        type=click.Path(dir_okay=False),
        help="Where to write the HTML version (default: preview-SLUG-dayN.html).",
    )
    def preview(slug: str, day: int, version: int | None, html_out: str | None) -> None:
        """Print the text version of a day's question email and write the HTML version to a file.

        The answer links in a preview are marked as preview links and record nothing.
        """
        from quiz.delivery.emails import render_question_preview

        question_set = _find_set(slug, version)
        question = get_session().scalar(
            select(Question).where(Question.question_set_id == question_set.id, Question.position == day)
        )
        if question is None:
            days = len(question_set.questions)
            raise click.ClickException(
                f"{slug!r} version {question_set.version} has days 1 to {days}, not {day}"
            )
        email = render_question_preview(question, utcnow())
        target = Path(html_out or f"preview-{slug}-day{day}.html")
        target.write_text(email.html, encoding="utf-8")
        click.echo(
            f"PREVIEW of {slug!r} version {question_set.version}, day {day}. The answer links are preview "
            "links: they show the pages a participant would see, but record nothing.\n"
        )
        click.echo(f"Subject: {email.subject}\n\n{email.text}")
        click.echo(f"HTML version written to {target}.")
