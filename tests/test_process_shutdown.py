"""The scheduler process stops cleanly on SIGTERM: the message in flight is
finished and recorded, nothing is left half-claimed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from quiz.db import utcnow
from quiz.delivery.outbox import enqueue
from quiz.models import Delivery
from tests.conftest import SMTPHandler, free_port
from tests.factories import make_campaign, make_participant

ROOT = Path(__file__).resolve().parent.parent


class SlowHandler(SMTPHandler):
    """Takes a second per message, and says when the first one has started."""

    def __init__(self) -> None:
        super().__init__()
        self.data_started = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.data_started.set()
        await asyncio.sleep(1.0)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp():
    controller = Controller(SlowHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def test_sigterm_finishes_the_message_in_flight(app, session, slow_smtp, tmp_path):
    now = utcnow()
    campaign = make_campaign(session, now)
    for i in range(5):
        p = make_participant(session, campaign, now, email=f"p{i}@example.org", status="pending")
        enqueue(session, participant_id=p.id, kind="confirm", due_at=now, now=now)
    session.commit()

    env = {
        **os.environ,
        "QUIZ_ENV": "testing",
        "QUIZ_SECRET_KEY": "test-secret",
        "QUIZ_DATABASE_URL": app.config["QUIZ_DATABASE_URL"],
        "QUIZ_MAIL_BACKEND": "smtp",
        "QUIZ_SMTP_URL": f"smtp://127.0.0.1:{slow_smtp.port}",
        "QUIZ_SCHEDULER_INTERVAL_SECONDS": "1",
    }
    # cwd is an empty folder so no developer's .env is read.
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scheduler.py")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert slow_smtp.handler.data_started.wait(30), "the scheduler never started sending"
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert time.monotonic() - started < 10
    assert "stopped" in output

    session.expire_all()
    statuses = session.scalars(select(Delivery.status).order_by(Delivery.id)).all()
    received = len(slow_smtp.handler.messages)
    assert received >= 1  # the message in flight was completed, not cut off
    assert statuses.count("sent") == received  # every accepted message is recorded as sent
    assert "sending" not in statuses  # nothing left claimed for a lease to expire
    assert statuses.count("pending") == 5 - received
