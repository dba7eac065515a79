"""Database.kept_connection: each thread keeps one autocommit connection
between uses (the answer confirmation's fast path), and it is looked after
as a pool would: replaced when broken or old, closed with its thread."""

from __future__ import annotations

import gc
import threading

import pytest
from sqlalchemy import text

from quiz import db as db_module
from quiz.db import database


def test_a_thread_keeps_its_connection_between_uses(app):
    kept = database(app)
    with kept.kept_connection() as first:
        assert first.execute(text("SELECT 1")).scalar() == 1
    with kept.kept_connection() as second:
        assert second is first and not second.closed
        assert not second.in_transaction()  # left as it was found


def test_an_error_inside_the_block_replaces_the_connection(app):
    kept = database(app)
    with kept.kept_connection() as first:
        pass
    with pytest.raises(RuntimeError), kept.kept_connection() as conn:
        assert conn is first
        raise RuntimeError("a statement failed")
    assert first.closed
    with kept.kept_connection() as fresh:
        assert fresh is not first and fresh.execute(text("SELECT 1")).scalar() == 1


def test_an_old_connection_is_replaced(app, monkeypatch):
    kept = database(app)
    with kept.kept_connection() as first:
        pass
    later = db_module.time.monotonic() + db_module.POOL_RECYCLE_SECONDS + 1
    monkeypatch.setattr(db_module.time, "monotonic", lambda: later)
    with kept.kept_connection() as second:
        assert second is not first
    assert first.closed


def test_each_thread_has_its_own_and_it_closes_with_the_thread(app):
    kept = database(app)
    seen = []

    def use() -> None:
        with kept.kept_connection() as conn:
            seen.append(conn)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    with kept.kept_connection() as mine:
        assert mine is not seen[0]
    del thread
    gc.collect()
    assert seen[0].closed  # a server that starts a thread per request leaves none open


def test_dispose_closes_every_threads_connection(app):
    kept = database(app)
    held = []
    opened, release = threading.Event(), threading.Event()

    def use() -> None:
        with kept.kept_connection() as conn:
            held.append(conn)
        opened.set()
        release.wait(10)

    thread = threading.Thread(target=use)
    thread.start()
    assert opened.wait(10)
    with kept.kept_connection() as mine:
        pass
    kept.dispose()
    assert mine.closed and held[0].closed
    release.set()
    thread.join()
