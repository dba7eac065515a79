"""Real scheduler processes against a real SMTP server: killed with SIGKILL
mid-drain and restarted, and several of them draining one outbox. Messages
are counted at the SMTP server by Message-ID."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from quiz.models import Delivery
from tests.conftest import PG_URL, SMTPHandler, free_port
from tests.engine_factories import queue_confirmations

ROOT = Path(__file__).resolve().parent.parent


class PacedHandler(SMTPHandler):
    """Takes a few milliseconds per message, like a real relay, so a kill lands mid-drain."""

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        await asyncio.sleep(0.003)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def relay():
    controller = Controller(PacedHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def start(app, relay, tmp_path, **settings: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "QUIZ_ENV": "testing",
        "QUIZ_SECRET_KEY": "test-secret",
        "QUIZ_DATABASE_URL": app.config["QUIZ_DATABASE_URL"],
        "QUIZ_MAIL_BACKEND": "smtp",
        "QUIZ_SMTP_URL": f"smtp://127.0.0.1:{relay.port}",
        "QUIZ_BASE_URL": "http://quiz.test",
        "QUIZ_SCHEDULER_INTERVAL_SECONDS": "1",
        "QUIZ_OUTBOX_BATCH_SIZE": "20",
        "QUIZ_OUTBOX_LEASE_SECONDS": "3",
        **settings,
    }
    # cwd is an empty folder so no developer's .env is read.
    return subprocess.Popen(
        [sys.executable, str(ROOT / "scheduler.py")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until_all_sent(session, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        if session.scalar(select(func.count()).where(Delivery.status == "sent")) == count:
            return
        time.sleep(0.2)
    raise AssertionError("not everything was sent in time")


def stop_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.mark.slow
@pytest.mark.parametrize("commit_every", ["1", "20"])
def test_sigkill_mid_drain_and_restart(app, session, relay, tmp_path, commit_every):
    count, kills = 300, 6
    queue_confirmations(session, count)
    rng = random.Random(4)
    received_before_kill = []
    proc = None
    settings = {"QUIZ_OUTBOX_COMMIT_EVERY": commit_every}
    try:
        for _ in range(kills):
            proc = start(app, relay, tmp_path, **settings)
            before = len(relay.handler.messages)
            deadline = time.monotonic() + 30
            while len(relay.handler.messages) < before + rng.randint(5, 30) and time.monotonic() < deadline:
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            received_before_kill.append(len(relay.handler.messages))
        proc = start(app, relay, tmp_path, **settings)
        wait_until_all_sent(session, count, timeout=120)
    finally:
        stop_all([proc] if proc else [])

    ids = Counter(m["Message-ID"] for m in relay.handler.messages)
    stored = set(session.scalars(select(Delivery.message_id)).all())
    assert set(ids) == stored and len(stored) == count  # nothing lost, every id is a delivery's
    duplicates = sum(n - 1 for n in ids.values())
    # Only what the relay accepted but the killed process had not recorded yet
    # is sent again: at most one commit group per kill.
    bound = kills * int(commit_every)
    print(f"\nSIGKILL x{kills}, commit every {commit_every}: {duplicates} resent (bound {bound})")
    assert duplicates <= bound


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="several scheduler processes need PostgreSQL (QUIZ_TEST_DATABASE_URL)")
@pytest.mark.parametrize("processes", [2, 4])
def test_parallel_schedulers_send_each_message_once(app, session, relay, tmp_path, processes):
    count = 600
    queue_confirmations(session, count)
    # A lease far longer than any batch: no process takes over another's rows.
    settings = {"QUIZ_OUTBOX_LEASE_SECONDS": "60", "QUIZ_SCHEDULER_PROCESSES": str(processes)}
    procs = [start(app, relay, tmp_path, **settings) for _ in range(processes)]
    try:
        wait_until_all_sent(session, count, timeout=120)
    finally:
        stop_all(procs)
    ids = Counter(m["Message-ID"] for m in relay.handler.messages)
    assert len(ids) == count and set(ids.values()) == {1}
    workers = set(session.scalars(select(Delivery.claimed_by)).all())
    assert workers == {None}  # nothing left claimed
