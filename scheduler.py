"""The scheduler process: `python scheduler.py`.

An APScheduler BlockingScheduler with up to four jobs: `plan` (every
QUIZ_PLANNER_INTERVAL_SECONDS, default a minute) enqueues the deliveries that
are due, `drain` (every QUIZ_SCHEDULER_INTERVAL_SECONDS) sends what the outbox
holds over one SMTP connection, `retention` (daily at 03:30
Amsterdam time) erases personal data past QUIZ_RETENTION_DAYS, and `bounces`
(every QUIZ_BOUNCE_FETCH_SECONDS, when QUIZ_IMAP_URL is set) records the
bounces that came back after the relay accepted a message. All run once
right at start, so a restart or a missed tick catches up at once. The state of the quiz
lives in the database, not in APScheduler: the job store is in memory.
Several of these processes may run against PostgreSQL, and that is how
sending scales (docs/deploy.md): the outbox's unique key and claims keep them
from planning or sending the same message twice.

SIGTERM/SIGINT set a stop flag that the drain checks between messages, so
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
from quiz.delivery.sender import plan_due, send_due
from quiz.ops.checks import log_findings

log = logging.getLogger("quiz.scheduler")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def plan(app: Flask) -> None:
    """Enqueue whatever is due now (idempotent)."""
    report = plan_due(app, utcnow())
    if report.total or report.completed:
        log.info("plan: %s, completed=%d", report.planned, report.completed)


def drain(app: Flask, stop: threading.Event) -> None:
    """Send whatever the outbox holds that is due now."""
    report = send_due(app, utcnow, worker_name(), stop=stop)
    if report.claimed:
        log.info(
            "drain: claimed=%d sent=%d deferred=%d failed=%d cancelled=%d released=%d",
            report.claimed,
            report.sent,
            report.deferred,
            report.failed,
            report.cancelled,
            report.released,
        )


def retention(app: Flask) -> None:
    """Erase personal data past QUIZ_RETENTION_DAYS and stale unconfirmed signups."""
    from quiz.db import session_scope
    from quiz.rights import retention as rules

    with app.app_context(), session_scope(app) as session:
        result = rules.run(session, utcnow(), app.config["QUIZ_RETENTION_DAYS"])
    if result.erase_count or result.remove_count:
        log.info("retention: erased=%d removed=%d", result.erase_count, result.remove_count)


def bounces(app: Flask) -> None:
    """Read the bounce mailbox (QUIZ_IMAP_URL) and record what bounced later."""
    from quiz.delivery.bounce_mailbox import fetch

    try:
        report = fetch(app, utcnow())
    except Exception:  # an IMAP outage must not stop the scheduler; the next run retries
        log.exception("bounces: reading the mailbox failed")
        return
    if report.outcomes:
        log.info("bounces: %s", report)


def build_scheduler(app: Flask, stop: threading.Event) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    common = {
        "trigger": "interval",
        "replace_existing": True,
        "coalesce": True,  # after a pause, run once, not once per missed interval
        "max_instances": 1,  # a long run is never overlapped by the next one
        "misfire_grace_time": None,  # late is better than never: always run a missed tick
        "next_run_time": utcnow(),  # catch up at start instead of waiting one interval
    }
    scheduler.add_job(
        plan, seconds=app.config["QUIZ_PLANNER_INTERVAL_SECONDS"], args=(app,), id="plan", **common
    )
    scheduler.add_job(
        drain, seconds=app.config["QUIZ_SCHEDULER_INTERVAL_SECONDS"], args=(app, stop), id="drain", **common
    )
    # Daily at night, local time, and once at start: the job store is in
    # memory, so a scheduler that was down at 03:30 would otherwise skip a
    # day. Running it twice is harmless.
    scheduler.add_job(
        retention,
        trigger="cron",
        hour=3,
        minute=30,
        timezone="Europe/Amsterdam",
        args=(app,),
        id="retention",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        next_run_time=utcnow(),
    )
    if app.config.get("QUIZ_IMAP_URL") and app.config.get("QUIZ_BOUNCE_ADDRESS"):
        scheduler.add_job(
            bounces, seconds=app.config["QUIZ_BOUNCE_FETCH_SECONDS"], args=(app,), id="bounces", **common
        )
    return scheduler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Their INFO lines (every job run, alembic's plugin setup at import) drown ours.
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app = create_app()
    log_findings(app.config)
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
