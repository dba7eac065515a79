"""Alembic environment: the engine comes from the app (quiz init-db) or from
the settings (plain `alembic` on the command line, e.g. for a new revision)."""

from __future__ import annotations

from alembic import context

from quiz import models  # noqa: F401  (registers the tables on Base.metadata)
from quiz.db import Base, make_engine

config = context.config


def _engine():  # noqa: ANN202
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    from quiz.config import load_settings

    return make_engine(load_settings()["QUIZ_DATABASE_URL"])


def _render_item(type_: str, obj, autogen_context):  # noqa: ANN001, ANN202
    """Write our UTC type as a plain timezone-aware DateTime, so migrations never
    import application code that may change later."""
    from quiz.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
            compare_type=True,
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `flask --app wsgi quiz init-db`.")
run_migrations_online()
