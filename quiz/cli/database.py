"""`quiz init-db`: bring the database schema to the newest migration."""

from __future__ import annotations

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from flask.cli import AppGroup

from quiz.db import MIGRATIONS


def alembic_config(app: Flask) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = app.extensions["quiz_db"].engine
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    command.upgrade(alembic_config(app), revision)


def register(group: AppGroup) -> None:
    @group.command("init-db")
    def init_db() -> None:
        """Create or upgrade the tables (Alembic upgrade to head). Safe to run on every deploy."""
        upgrade(current_app._get_current_object())  # type: ignore[attr-defined]
        click.echo("Database is up to date.")
