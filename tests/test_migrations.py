"""Migrations that change data, run on a database at the revision before
and filled with the rows they have to deal with (SQLite, or PostgreSQL when
QUIZ_TEST_DATABASE_URL is set, as the rest of the suite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from quiz.cli.database import MIGRATIONS
from quiz.db import make_engine
from tests.conftest import PG_URL

SCHEMA = "migration_test"  # on PostgreSQL: a schema of its own in the test database
T0 = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
# A campaign row as the early revisions have it, for inserts below the models.
CAMPAIGN_ROW = {
    "start_mode": "rolling",
    "send_time": T0.time(),
    "followup_time": T0.time(),
    "timezone": "Europe/Amsterdam",
    "skip_dates": [],
    "reminders_enabled": True,
    "summary_enabled": True,
    "followups_enabled": True,
}


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    """An empty database of the suite's kind, with the app's engine settings
    (on SQLite: foreign keys on, as in production)."""
    if not PG_URL:
        engine = make_engine(f"sqlite:///{tmp_path / 'migrate.sqlite3'}")
        yield engine
        engine.dispose()
        return
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine = make_engine(PG_URL, connect_args={"options": f"-c search_path={SCHEMA}"})
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    admin.dispose()


def migrate(engine: Engine, revision: str, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    (command.downgrade if down else command.upgrade)(config, revision)


def rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


# --- participant: one address per campaign whatever its case ------------------

BEFORE_LOWER_EMAIL = "62b202ea43ef"
LOWER_EMAIL = "5c1d7e2a9b04"


def test_case_duplicates_become_one_participant_before_the_index(engine):
    """Existing rows for one address in several cases: the one that got
    furthest stays (the first among equals), an unsubscribe by any of them
    holds for it, and the others are erased as 'wissen' erases, their queued
    mail cancelled. Then the database refuses another spelling."""
    migrate(engine, BEFORE_LOWER_EMAIL)
    meta = MetaData()
    meta.reflect(engine, only=["campaign", "participant", "delivery", "link_hit"])
    campaign, participant = meta.tables["campaign"], meta.tables["participant"]
    delivery, link_hit = meta.tables["delivery"], meta.tables["link_hit"]

    def person(id_: int, campaign_id: int, email: str | None, status: str, hours: int, **more) -> dict:
        values = {
            "id": id_,
            "campaign_id": campaign_id,
            "email": email,
            "name": f"naam {id_}" if email else None,
            "organisation": "School" if email else None,
            "status": status,
            "created_at": T0 + timedelta(hours=hours),
            "status_changed_at": T0 + timedelta(hours=hours),
        }
        return {**values, **more}

    def mail(id_: int, participant_id: int, status: str, day: int = 0, **more) -> dict:
        kind = "question" if day else "confirm"
        values = {"id": id_, "participant_id": participant_id, "kind": kind, "day": day}
        return {**values, "status": status, "attempts": 0, "due_at": T0, "created_at": T0, **more}

    campaign_row = {**CAMPAIGN_ROW, "created_at": T0}
    with engine.begin() as conn:
        conn.execute(
            insert(campaign),
            [
                {**campaign_row, "id": 1, "slug": "een", "name": "Een"},
                {**campaign_row, "id": 2, "slug": "twee", "name": "Twee"},
            ],
        )
        conn.execute(
            insert(participant),
            [
                # Anna: active first, then pending, then unsubscribed (at hour 3).
                person(1, 1, "Anna.Bakker@example.org", "active", 0),
                person(2, 1, "anna.bakker@example.org", "pending", 1),
                person(
                    3,
                    1,
                    "ANNA.BAKKER@example.org",
                    "unsubscribed",
                    2,
                    status_changed_at=T0 + timedelta(hours=3),
                ),
                # Bob: pending first, active second: the active one stays.
                person(4, 1, "bob@example.org", "pending", 0),
                person(5, 1, "Bob@example.org", "active", 1),
                # Carla in two campaigns, and two erased rows: nothing to merge.
                person(6, 1, "Carla@example.org", "active", 0),
                person(7, 2, "carla@example.org", "active", 0),
                person(8, 1, None, "erased", 0),
                person(9, 1, None, "erased", 0),
            ],
        )
        conn.execute(
            insert(delivery),
            [
                mail(1, 1, "sent", day=1),
                mail(2, 1, "pending", day=2),
                mail(3, 2, "pending"),
                mail(4, 4, "deferred", last_error="451 4.2.1 <bob@example.org>: mailbox busy"),
                mail(5, 5, "pending", day=2),
            ],
        )
        conn.execute(
            insert(link_hit),
            [
                {
                    "participant_id": 4,
                    "kind": "answer",
                    "method": "GET",
                    "hit_at": T0,
                    "client_hash": "ab12",
                    "user_agent": "Firefox",
                    "is_sweep": False,
                }
            ],
        )

    migrate(engine, LOWER_EMAIL)

    people = {
        r[0]: r[1:] for r in rows(engine, "SELECT id, email, name, organisation, status FROM participant")
    }
    assert people == {
        1: ("Anna.Bakker@example.org", "naam 1", "School", "unsubscribed"),
        2: (None, None, None, "erased"),
        3: (None, None, None, "erased"),
        4: (None, None, None, "erased"),
        5: ("Bob@example.org", "naam 5", "School", "active"),
        6: ("Carla@example.org", "naam 6", "School", "active"),
        7: ("carla@example.org", "naam 7", "School", "active"),
        8: (None, None, None, "erased"),
        9: (None, None, None, "erased"),
    }
    (changed_at,) = rows(engine, "SELECT status_changed_at FROM participant WHERE id = 1")[0]
    assert str(changed_at).startswith("2026-11-16 11:00")  # when she said stop, not the migration's time
    mails = {r[0]: r[1:] for r in rows(engine, "SELECT id, status, last_error FROM delivery")}
    assert [mails[i][0] for i in (1, 2, 3, 4, 5)] == [
        "sent",
        "cancelled",
        "cancelled",
        "cancelled",
        "pending",
    ]
    assert "bob@example.org" not in str(mails[4][1])
    assert rows(engine, "SELECT client_hash, user_agent FROM link_hit") == [(None, None)]

    # From now on the database itself refuses a second spelling in a campaign.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(participant), [person(10, 1, "bob@EXAMPLE.org", "pending", 5)])
    with engine.begin() as conn:
        conn.execute(insert(participant), [person(11, 2, "bob@EXAMPLE.org", "pending", 5)])

    # Down and up again: the index goes and comes back, the rows stay merged.
    migrate(engine, BEFORE_LOWER_EMAIL, down=True)
    migrate(engine, LOWER_EMAIL)
    assert rows(engine, "SELECT count(*) FROM participant WHERE email IS NOT NULL") == [(5,)]


# --- campaign.public: the front page keeps the campaign it served ------------

BEFORE_PUBLIC = "a7e3c1d2b845"
PUBLIC = "3f6b2d9e1c50"


def test_the_campaign_the_front_page_served_becomes_the_public_one(engine):
    """Before issue 19, `/` served the newest campaign with open signup, else
    the newest. The upgrade marks that one public, so an installation's front
    page stays the same; then the database refuses a second public campaign."""
    migrate(engine, BEFORE_PUBLIC)
    meta = MetaData()
    meta.reflect(engine, only=["campaign"])
    campaign = meta.tables["campaign"]
    now = datetime.now(UTC)
    row = {**CAMPAIGN_ROW, "signup_closes_at": None}
    with engine.begin() as conn:
        conn.execute(
            insert(campaign),
            [
                {**row, "id": 1, "slug": "oud", "name": "Oud", "created_at": now - timedelta(days=60)},
                # The one `/` served: the newest whose signup is open.
                {**row, "id": 2, "slug": "open", "name": "Open", "created_at": now - timedelta(days=30),
                 "signup_closes_at": now + timedelta(days=5)},  # fmt: skip
                # Newer, but its signup has closed.
                {**row, "id": 3, "slug": "dicht", "name": "Dicht", "created_at": now - timedelta(days=1),
                 "signup_closes_at": now - timedelta(hours=1)},  # fmt: skip
            ],
        )
    migrate(engine, PUBLIC)
    assert rows(engine, "SELECT id FROM campaign WHERE public ORDER BY id") == [(2,)]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE campaign SET public = :yes WHERE id = 3"), {"yes": True})

    migrate(engine, BEFORE_PUBLIC, down=True)
    assert rows(engine, "SELECT count(*) FROM campaign") == [(3,)]
    migrate(engine, PUBLIC)
    assert rows(engine, "SELECT id FROM campaign WHERE public") == [(2,)]
