"""`flask --app wsgi quiz init-db` brings any database to the newest migration."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from quiz import create_app
from quiz.cli.database import MIGRATIONS, alembic_config
from quiz.db import Base


def test_init_db_creates_every_table_on_an_empty_database(tmp_path, app_config):
    config = {**app_config, "QUIZ_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    app = create_app(config)
    result = app.test_cli_runner().invoke(args=["quiz", "init-db"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output

    engine = create_engine(config["QUIZ_DATABASE_URL"])
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    head = ScriptDirectory.from_config(alembic_config(app)).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    engine.dispose()


def test_init_db_twice_is_harmless(runner):
    # The suite's database (SQLite or PostgreSQL) is already migrated.
    result = runner.invoke(args=["quiz", "init-db"])
    assert result.exit_code == 0, result.output


# SQLAlchemy cannot reflect an index on an expression from SQLite (it says
# so, and Alembic then leaves it out of the comparison); PostgreSQL compares it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_models_and_migrations_agree(app):
    """Autogenerate against the migrated database finds nothing to do: every
    model change came with a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from quiz.db import database

    with database(app).engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        if conn.dialect.name == "sqlite":  # what SQLite's reflection skips, by its stored SQL
            sql = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'uq_participant_campaign_id_lower_email'")
            ).scalar()
            assert sql is not None and "UNIQUE" in sql and "lower(email)" in sql
    assert diff == []
    assert MIGRATIONS.is_dir()
