"""The scheduler process: `python scheduler.py`.

An APScheduler BlockingScheduler with one job, `tick`, that works through the
outbox. The state of the quiz lives in the database, not in APScheduler: the
job store is in memory and a restart simply picks up whatever is due. Several
of these processes may run against PostgreSQL; the outbox's claims keep them
from sending the same message twice.

SIGTERM/SIGINT set a stop flag that the drain loop checks between messages, so
the message in flight is finished and recorded before the process exits.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from quiz import create_app
from quiz.db import utcnow
from quiz.mailer import transport_from_config
from quiz.outbox import drain

log = logging.getLogger("quiz.scheduler")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def tick(app: Flask, stop: threading.Event) -> None:
    """One round: send whatever is due now."""
    report = drain(app, transport_from_config(app.config), utcnow, worker_name(), stop=stop)
    if report.claimed:
        log.info(
            "tick: claimed=%d sent=%d deferred=%d failed=%d cancelled=%d",
            report.claimed,
            report.sent,
            report.deferred,
            report.failed,
            report.cancelled,
        )


def build_scheduler(app: Flask, stop: threading.Event) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        seconds=app.config["QUIZ_SCHEDULER_INTERVAL_SECONDS"],
        args=(app, stop),
        id="tick",
        replace_existing=True,
        coalesce=True,  # after a pause, run once, not once per missed interval
        max_instances=1,  # a long drain is never overlapped by the next tick
        misfire_grace_time=60,
        next_run_time=utcnow(),  # catch up at start instead of waiting one interval
    )
    return scheduler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = create_app()
    stop = threading.Event()
    scheduler = build_scheduler(app, stop)

    def _shutdown(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the message in flight, then stopping", signum)
        stop.set()
        # wait=True: the running tick sees `stop`, finishes its message and returns.
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    log.info("scheduler started (%s)", worker_name())
    scheduler.start()
    log.info("scheduler stopped")


if __name__ == "__main__":
    main()
