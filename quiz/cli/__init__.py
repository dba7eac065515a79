"""`flask --app wsgi quiz …` (or just `quiz …`): the operators' commands.

Each topic has its own module with its own click group; this module gathers
them under `quiz`.
"""

from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

quiz_group = AppGroup("quiz", help="MeldcodeQuiz: database, campaigns, question sets, outbox.")


def init_app(app: Flask) -> None:
    from quiz.cli import bounces, campaigns, check, database, engine, organisers, questions, retention

    for module in (database, campaigns, questions, engine, organisers, retention, check, bounces):
        module.register(quiz_group)
    app.cli.add_command(quiz_group)


def main() -> None:
    """The `quiz` console script: `quiz X` is `flask --app wsgi quiz X`.
    Flask finds the app factory by name, as `--app` does, so the commands
    do not import the package that registers them."""
    import sys

    from flask.cli import ScriptInfo

    app = ScriptInfo(app_import_path="quiz:create_app").load_app()
    with app.app_context():
        quiz_group.main(args=sys.argv[1:], prog_name="quiz")
