"""The sender's loop against a real SMTP server: each message once, with
progress and figures; a stop request finishes the message in flight and
releases the rest; concurrent claims take disjoint batches."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from quiz.db import utcnow
from quiz.delivery import sender
from quiz.delivery.outbox import claim
from quiz.models import Delivery
from tests.conftest import PG_URL, SMTPHandler, free_port
from tests.engine_factories import queue_confirmations


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's planner on a table without statistics")
def test_a_claim_takes_one_batch_from_a_fresh_unanalysed_table(app, session):
    """Senders share the queue: PostgreSQL once ran the locking subquery per
    updated row on a table without statistics, and one claim took everything."""
    queue_confirmations(session, 12)
    sizes = [len(claim(session, f"w{i}", utcnow(), 3, timedelta(seconds=60))) for i in range(5)]
    assert sizes == [3, 3, 3, 3, 0]


class PacedHandler(SMTPHandler):
    """Takes `delay` seconds per message and says when the first one arrived."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.data_started = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.data_started.set()
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def relay_for(app, delay: float) -> Controller:
    controller = Controller(PacedHandler(delay), hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["QUIZ_SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    return controller


def statuses(session) -> Counter:
    session.expire_all()
    return Counter(session.scalars(select(Delivery.status)).all())


def test_each_message_once_with_progress_and_figures(app, session):
    queue_confirmations(session, 300)
    app.config["QUIZ_OUTBOX_BATCH_SIZE"] = 20
    relay = relay_for(app, 0.001)
    progress = []
    try:
        report = sender.send_due(app, utcnow, "t", on_progress=progress.append)
    finally:
        relay.stop()
    ids = Counter(m["Message-ID"] for m in relay.handler.messages)
    assert len(ids) == 300 and set(ids.values()) == {1}
    assert (report.sent, report.claimed, report.failed, report.errors) == (300, 300, 0, [])
    assert sum(progress) == 300
    assert statuses(session) == {"sent": 300}


def test_stop_finishes_the_message_in_flight_and_releases_the_rest(app, session):
    queue_confirmations(session, 20)
    app.config["QUIZ_OUTBOX_BATCH_SIZE"] = 5
    relay = relay_for(app, 1.0)
    stop = threading.Event()
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(report=sender.send_due(app, utcnow, "t", stop=stop))
    )
    try:
        thread.start()
        assert relay.handler.data_started.wait(30)
        stop.set()
        thread.join(30)
        assert not thread.is_alive()
    finally:
        relay.stop()
    received = len(relay.handler.messages)
    counts = statuses(session)
    assert received == 1  # in flight when stop came: finished, not cut off
    assert counts["sent"] == received == result["report"].sent
    assert counts["pending"] == 20 - received  # released or never claimed, nothing left "sending"
    assert result["report"].errors == []
