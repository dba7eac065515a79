"""Sending the outbox: claim due deliveries, render, hand them to SMTP, record.

One worker = one SMTP connection + one database session. `send_due` runs
QUIZ_SMTP_CONNECTIONS workers under one rate limit (QUIZ_SMTP_RATE
messages/second, 0 = no limit, split evenly between the workers):
- on PostgreSQL, when at least PROCESSES_FROM messages are due, one child
  process per connection. Building a message is CPU work, and threads share
  one interpreter lock, so only processes use more than one core; the claim
  (FOR UPDATE SKIP LOCKED + lease) already keeps workers apart, whether they
  are threads, processes or schedulers. The parent supervises: progress and
  reports come back over a queue, a child that dies is reported (its claimed
  rows return when their lease runs out), SIGTERM/`stop` is passed on and each
  child finishes its message in flight, and a child ends with its parent.
- otherwise (SQLite, whose writes are serialised anyway, or a small queue
  that is not worth starting interpreters for) in threads.

What happens to a message (the relay's reply decides):
- accepted: `sent`. Outcomes are written in groups of QUIZ_OUTBOX_COMMIT_EVERY
  messages (and at least every QUIZ_OUTBOX_COMMIT_SECONDS): one commit per
  message would cost more than building the message. The price: a worker
  killed with SIGKILL may have up to one group accepted by the relay but not
  recorded, which are sent again (same Message-ID) once their lease runs out.
  Set QUIZ_OUTBOX_COMMIT_EVERY=1 to shrink that to the message in flight.
- 4xx or a broken connection: `deferred` with backoff; retried.
- 5xx for the recipient: `failed`, participant `bounced`, later deliveries
  `cancelled`. 5xx for the message: `failed`, participant untouched.
- relay unreachable or refusing our sender: this message is deferred, the
  rest of the batch is released untouched, and the worker stops until the
  next tick.
- rendering error (a template or data bug): `failed` with the reason.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from quiz import outbox
from quiz.bounces import verp_address
from quiz.db import session_scope
from quiz.mail_templates import render_email
from quiz.mailer import (
    Envelope,
    SendError,
    Transport,
    build_message,
    mail_domain,
    transport_from_config,
)
from quiz.models import Delivery, Participant
from quiz.signing import DKIMSigner, signer_from_config

log = logging.getLogger(__name__)

# Stop taking messages from a batch when this share of the lease has passed,
# so another worker never takes over a row this one is still sending.
LEASE_SAFETY = 0.8

# Below this many due messages the workers are threads: starting an
# interpreter per connection costs about a second of CPU, and the scheduler
# drains every few seconds.
PROCESSES_FROM = 2000


@dataclass
class DrainReport:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    cancelled: int = 0
    released: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, outcome: str, n: int = 1, error: str | None = None) -> None:
        with self.lock:
            setattr(self, outcome, getattr(self, outcome) + n)
            if error and len(self.errors) < 100:
                self.errors.append(error)

    def counts(self) -> dict[str, Any]:
        """The figures as plain data (a child process sends them to its parent)."""
        with self.lock:
            return {k: getattr(self, k) for k in _OUTCOMES} | {"errors": list(self.errors)}

    def add(self, counts: Mapping[str, Any]) -> None:
        with self.lock:
            for k in _OUTCOMES:
                setattr(self, k, getattr(self, k) + counts[k])
            self.errors.extend(counts["errors"][: max(0, 100 - len(self.errors))])


_OUTCOMES = ("claimed", "sent", "deferred", "failed", "cancelled", "released")


@dataclass(frozen=True)
class FixedClock:
    """A clock that always says `now` (`quiz tick --now`, the benchmark).
    A class rather than a lambda so that it can go to a child process."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


class RateLimiter:
    """Spaces messages evenly at `rate` per second across all threads; 0 = no limit."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event | None = None) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            if stop is not None:
                stop.wait(slot - now)
            else:
                time.sleep(slot - now)


@dataclass(frozen=True)
class SendSettings:
    batch: int
    lease: timedelta
    commit_every: int
    commit_seconds: float
    mail_from: str
    envelope_from: str
    domain: str
    # Per-delivery signed envelope sender (quiz.bounces), when QUIZ_BOUNCE_ADDRESS is set.
    bounce_address: str | None = None
    verp_key: str = ""
    # DKIM (quiz.signing), when QUIZ_DKIM_KEY_FILE is set; None keeps it off the send path.
    signer: DKIMSigner | None = field(default=None, compare=False)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> SendSettings:
        mail_from = cfg["QUIZ_MAIL_FROM"]
        return cls(
            batch=max(1, int(cfg["QUIZ_OUTBOX_BATCH_SIZE"])),
            lease=timedelta(seconds=int(cfg["QUIZ_OUTBOX_LEASE_SECONDS"])),
            commit_every=max(1, int(cfg.get("QUIZ_OUTBOX_COMMIT_EVERY", 20))),
            commit_seconds=float(cfg.get("QUIZ_OUTBOX_COMMIT_SECONDS", 0.5)),
            mail_from=mail_from,
            envelope_from=parseaddr(mail_from)[1],
            domain=mail_domain(mail_from),
            bounce_address=cfg.get("QUIZ_BOUNCE_ADDRESS") or None,
            verp_key=cfg["QUIZ_SECRET_KEY"],
            # Raises on an unusable key before anything is claimed: no message
            # goes out unsigned by accident, none is failed for our mistake.
            signer=signer_from_config(cfg),
        )


class _RelayDown(Exception):
    """The relay cannot take messages now; stop this worker until the next tick."""


class _Worker:
    def __init__(
        self,
        session: Session,
        transport: Transport,
        clock: Callable[[], datetime],
        name: str,
        settings: SendSettings,
        report: DrainReport,
        stop: threading.Event | None,
        limiter: RateLimiter,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        from quiz.emails import context_for  # emails imports web-facing url helpers

        self.context_for = context_for
        self.session, self.transport, self.clock, self.name = session, transport, clock, name
        self.settings, self.report, self.stop, self.limiter = settings, report, stop, limiter
        self.on_progress = on_progress
        self._sent: list[tuple[int, datetime, str]] = []
        self._last_flush = time.monotonic()

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def run(self, limit: int | None) -> None:
        taken = 0
        while not self.stopped() and (limit is None or taken < limit):
            size = self.settings.batch if limit is None else min(self.settings.batch, limit - taken)
            # measured from before the claim, so loading the batch eats into the lease too
            deadline = time.monotonic() + self.settings.lease.total_seconds() * LEASE_SAFETY
            ids = outbox.claim(self.session, self.name, self.clock(), size, self.settings.lease)
            if not ids:
                return
            taken += len(ids)
            self.report.count("claimed", len(ids))
            try:
                self._send_batch(ids, deadline)
            except _RelayDown:
                return
            finally:
                self.session.expunge_all()  # memory stays flat however long the queue

    def _send_batch(self, ids: Sequence[int], deadline: float) -> None:
        from quiz.followup_emails import prefetch_reminders

        deliveries = _load(self.session, ids)
        prefetch_reminders(self.session, deliveries)
        done: set[int] = set()
        try:
            for delivery in deliveries:
                if self.stopped() or time.monotonic() > deadline:
                    break
                self.limiter.wait(self.stop)
                done.add(delivery.id)  # whatever happens next, this row is dealt with
                self._send_one(delivery)
                if self.on_progress:
                    self.on_progress(1)
        finally:
            self._flush()
            left = [d.id for d in deliveries if d.id not in done]
            if left:
                self.report.count("released", outbox.release(self.session, left, self.name))

    def _flush(self) -> None:
        if self._sent:
            outbox.mark_sent_many(self.session, self.name, self._sent)
            self.session.commit()
            self.report.count("sent", len(self._sent))
            self._sent.clear()
        self._last_flush = time.monotonic()

    def _send_one(self, delivery: Delivery) -> None:
        participant = delivery.participant
        if outbox.participant_gone(participant):
            self._flush()
            outbox.mark_cancelled(delivery, f"participant is {participant.status}")
            self.session.commit()
            self.report.count("cancelled")
            return
        now = self.clock()
        message_id = delivery.message_id or outbox.message_id_for(delivery, self.settings.domain)
        try:
            context = self.context_for(delivery, now)
            # The headers are the envelope's, not the templates' (none reads them).
            headers = context.pop("headers", {})
            rendered = render_email(delivery.kind, context)
            envelope = Envelope(participant.email, participant.name, message_id, headers)
            data = build_message(rendered, envelope, self.settings.mail_from, now)
            if self.settings.signer is not None:
                data = self.settings.signer.sign(data)  # the final bytes: every header is set
        except Exception as exc:  # a template or data bug must not block the outbox
            log.exception("rendering delivery %s failed", delivery.id)
            self._flush()
            outbox.mark_failed(self.session, delivery, now, f"render error: {exc}", bounced=False)
            self.session.commit()
            self.report.count("failed", error=f"delivery {delivery.id}: render error: {exc}")
            return
        envelope_from = self.settings.envelope_from
        if self.settings.bounce_address:
            envelope_from = verp_address(delivery.id, self.settings.bounce_address, self.settings.verp_key)
        try:
            self.transport.send(envelope_from, participant.email, data)
        except SendError as exc:
            self._record_refusal(delivery, exc)
            if exc.relay_unusable:
                raise _RelayDown from exc
            return
        self._sent.append((delivery.id, self.clock(), message_id))
        if (
            len(self._sent) >= self.settings.commit_every
            or time.monotonic() - self._last_flush >= self.settings.commit_seconds
        ):
            self._flush()

    def _record_refusal(self, delivery: Delivery, exc: SendError) -> None:
        self._flush()
        now = self.clock()
        error = f"delivery {delivery.id} to participant {delivery.participant_id}: {exc}"
        if exc.bounces_recipient or exc.refuses_message:
            outbox.mark_failed(self.session, delivery, now, str(exc), bounced=exc.bounces_recipient)
            self.report.count("failed", error=error)
        else:
            outbox.mark_deferred(self.session, delivery, now, str(exc))
            self.report.count("failed" if delivery.status == "failed" else "deferred", error=error)
        self.session.commit()
        log.warning("%s", error)


def _load(session: Session, ids: Sequence[int]) -> list[Delivery]:
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.id.in_(ids))
        .options(joinedload(Delivery.participant).joinedload(Participant.campaign))
        .order_by(Delivery.due_at, Delivery.id)
    ).all()
    return list(rows)


def drain(
    app: Flask,
    transport: Transport,
    clock: Callable[[], datetime],
    worker: str,
    stop: threading.Event | None = None,
    limit: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    limiter: RateLimiter | None = None,
    report: DrainReport | None = None,
) -> DrainReport:
    """Send due deliveries over one connection until none is due (or `stop`).

    Stops between messages when `stop` is set, so SIGTERM never cuts a
    message in half; what was claimed but not sent is released.
    """
    settings = SendSettings.from_config(app.config)
    report = report or DrainReport()
    limiter = limiter or RateLimiter(float(app.config.get("QUIZ_SMTP_RATE", 0)))
    with app.app_context(), session_scope(app) as session, transport:
        _Worker(session, transport, clock, worker, settings, report, stop, limiter, on_progress).run(limit)
    return report


def send_due(
    app: Flask,
    clock: Callable[[], datetime],
    worker: str,
    stop: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
    connections: int | None = None,
) -> DrainReport:
    """Drain the outbox over QUIZ_SMTP_CONNECTIONS connections in parallel:
    child processes on PostgreSQL for a large queue, threads otherwise."""
    n = max(1, int(connections or app.config.get("QUIZ_SMTP_CONNECTIONS", 1)))
    report = DrainReport()
    if n > 1 and _processes_pay_off(app, clock):
        return _send_in_processes(app, clock, worker, n, stop, on_progress, report)
    limiter = RateLimiter(float(app.config.get("QUIZ_SMTP_RATE", 0)))
    if n == 1:
        return drain(
            app, transport_from_config(app.config), clock, worker, stop, None, on_progress, limiter, report
        )

    def run(name: str) -> None:
        try:
            drain(
                app, transport_from_config(app.config), clock, name, stop, None, on_progress, limiter, report
            )
        except Exception as exc:  # one broken connection or session must not hide the others' work
            log.exception("sender %s stopped", name)
            report.count("released", 0, error=f"{name}: {exc}")

    threads = [threading.Thread(target=run, args=(f"{worker}/{i}",), name=f"sender-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return report


def _processes_pay_off(app: Flask, clock: Callable[[], datetime]) -> bool:
    if not str(app.config["QUIZ_DATABASE_URL"]).startswith("postgresql"):
        return False
    try:
        pickle.dumps(clock)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False  # a lambda (tests): it cannot go to another process
    with app.app_context(), session_scope(app) as session:
        return outbox.count_due(session, clock(), at_most=PROCESSES_FROM) >= PROCESSES_FROM


def _send_in_processes(
    app: Flask,
    clock: Callable[[], datetime],
    worker: str,
    n: int,
    stop: threading.Event | None,
    on_progress: Callable[[int], None] | None,
    report: DrainReport,
) -> DrainReport:
    """One child per connection (see the module docstring); returns when all have ended."""
    # spawn, not fork: the scheduler has threads, an engine with open
    # connections and locks that a forked copy would inherit mid-use.
    ctx = multiprocessing.get_context("spawn")
    events = ctx.Queue()
    config = {k: v for k, v in app.config.items() if k.startswith("QUIZ_")}
    config["QUIZ_IGNORE_DOTENV"] = True  # the parent's settings, nothing else
    config["QUIZ_SMTP_RATE"] = float(app.config.get("QUIZ_SMTP_RATE", 0)) / n
    children = {}
    for i in range(n):
        name = f"{worker}/{i}"
        child = ctx.Process(
            target=_child_main,
            args=(config, clock, name, events, on_progress is not None, os.getpid()),
            name=f"sender-{i}",
        )
        child.start()
        children[name] = child
    signalled = False
    while children:
        if stop is not None and stop.is_set() and not signalled:
            signalled = True
            for child in children.values():
                if child.is_alive():
                    os.kill(child.pid, signal.SIGTERM)  # type: ignore[arg-type]
        try:
            kind, name, value = events.get(timeout=0.2)
        except queue.Empty:
            for name, child in list(children.items()):
                # exit code 0 means its report is still on the way
                if child.exitcode not in (None, 0):
                    error = f"{name}: sender process died (exit code {child.exitcode})"
                    log.error("%s; its claimed messages go out again when their lease ends", error)
                    report.count("released", 0, error=error)
                    del children[name]
            continue
        if kind == "progress" and on_progress is not None:
            on_progress(value)
        elif kind == "done":
            report.add(value)
            children.pop(name).join()
    return report


def _child_main(
    config: dict[str, Any],
    clock: Callable[[], datetime],
    name: str,
    events: Any,
    progress: bool,
    parent: int,
) -> None:
    """A sender child: one drain over one connection, then its report to the parent."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # SIGINT: Ctrl-C reaches the whole process group
        signal.signal(sig, lambda *_: stop.set())
    _end_with_parent(parent, stop)
    from quiz import create_app
    from quiz.db import database

    report = DrainReport()
    pending = [0, time.monotonic()]

    def step(k: int) -> None:  # progress in batches: a queue message costs more than a counter
        pending[0] += k
        if time.monotonic() - pending[1] >= 0.25:
            events.put(("progress", name, pending[0]))
            pending[:] = [0, time.monotonic()]

    app = create_app(config)
    try:
        drain(
            app,
            transport_from_config(app.config),
            clock,
            name,
            stop,
            None,
            step if progress else None,
            None,
            report,
        )
    except Exception as exc:  # reported like a thread's failure, not as a crash
        log.exception("sender %s stopped", name)
        report.count("released", 0, error=f"{name}: {exc}")
    finally:
        database(app).dispose()
    if pending[0]:
        events.put(("progress", name, pending[0]))
    events.put(("done", name, report.counts()))


def _end_with_parent(parent: int, stop: threading.Event) -> None:
    """SIGTERM when the parent dies (Linux), so no orphan keeps sending after a
    SIGKILL of the scheduler; the message in flight is still finished."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before the line above
        stop.set()


def plan_due(app: Flask, now: datetime) -> Any:
    """One planning round (see quiz.planner.plan) in its own session."""
    from quiz.planner import plan

    with app.app_context(), session_scope(app) as session:
        return plan(session, now)
