"""Sending the outbox: claim due deliveries, render, hand them to SMTP, record.

One sender = one SMTP connection + one database session, in the scheduler
process (`send_due`). To send faster, run more scheduler processes (on
PostgreSQL, docs/deploy.md "More machines"): the claim (FOR UPDATE SKIP
LOCKED + a lease) keeps them apart. Building a message is CPU work, so a
process is what uses another core; QUIZ_SMTP_RATE (messages/second, 0 = no
limit) is the relay's limit for all of them together, and each process takes
its share (QUIZ_SCHEDULER_PROCESSES).

What happens to a message (the relay's reply decides):
- accepted: `sent`. Outcomes are written in groups of QUIZ_OUTBOX_COMMIT_EVERY
  messages (and at least every QUIZ_OUTBOX_COMMIT_SECONDS): one commit per
  message would cost more than building the message. The price: a sender
  killed with SIGKILL may have up to one group accepted by the relay but not
  recorded, which are sent again (same Message-ID) once their lease runs out.
  Set QUIZ_OUTBOX_COMMIT_EVERY=1 to shrink that to the message in flight.
- 4xx or a broken connection: `deferred` with backoff; retried until
  QUIZ_OUTBOX_RETRY_HOURS after it was due, then `failed` (quiz.delivery.outbox.mark_deferred).
- 5xx for the recipient: `failed`, participant `bounced`, later deliveries
  `cancelled`. 5xx for the message: `failed`, participant untouched.
- relay unreachable or refusing our sender: this message is deferred, the
  rest of the batch is released untouched, and the sender stops until the
  next tick.
- rendering error (a template or data bug): `failed` with the reason.

Rights hold mid-send: a batch is claimed and loaded at once, and sending it
at a limited rate can take minutes, during which a participant may
unsubscribe or erase their data. Unsubscribe and erase cancel only what is
not claimed yet; the claimed rows are the sender's to settle, so a record
never says `cancelled` for a message that went out. Right before a message
goes out the sender checks, with one query per group of
QUIZ_OUTBOX_COMMIT_EVERY messages (`_recheck`), that it still holds the row
and that the participant still receives mail (`Participant.receives_mail`);
if not, the row is cancelled ("participant is unsubscribed"). A check is
used for at most QUIZ_OUTBOX_COMMIT_SECONDS. What remains is that window: a
participant who leaves less than QUIZ_OUTBOX_COMMIT_SECONDS (0.5 s) before
their message goes out, or while it is being handed to the relay, still gets
that one message, recorded as `sent`.
"""

from __future__ import annotations

import logging
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

from quiz.db import session_scope
from quiz.delivery import outbox
from quiz.delivery.bounces import verp_address
from quiz.delivery.dkim import DKIMSigner, signer_from_config
from quiz.delivery.emails import context_for, prefetch_reminders
from quiz.delivery.mail_templates import render_email
from quiz.delivery.mailer import (
    Envelope,
    SendError,
    Transport,
    build_message,
    mail_domain,
    transport_from_config,
)
from quiz.delivery.planner import plan
from quiz.models import Delivery, Participant

log = logging.getLogger(__name__)

# Stop taking messages from a batch when this share of the lease has passed,
# so another sender never takes over a row this one is still sending.
LEASE_SAFETY = 0.8



@dataclass
class DrainReport:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    cancelled: int = 0
    released: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: str, n: int = 1, error: str | None = None) -> None:
        setattr(self, outcome, getattr(self, outcome) + n)
        if error and len(self.errors) < 100:
            self.errors.append(error)


class RateLimiter:
    """Spaces messages evenly at `rate` per second; 0 = no limit."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    def wait(self, stop: threading.Event | None = None) -> None:
        if not self.interval:
            return
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
    retry_for: timedelta
    mail_from: str
    envelope_from: str
    domain: str
    # Per-delivery signed envelope sender (quiz.delivery.bounces), when QUIZ_BOUNCE_ADDRESS is set.
    bounce_address: str | None = None
    verp_key: str = ""
    # DKIM (quiz.delivery.dkim), when QUIZ_DKIM_KEY_FILE is set; None keeps it off the send path.
    signer: DKIMSigner | None = field(default=None, compare=False)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> SendSettings:
        mail_from = cfg["QUIZ_MAIL_FROM"]
        return cls(
            batch=max(1, int(cfg["QUIZ_OUTBOX_BATCH_SIZE"])),
            lease=timedelta(seconds=int(cfg["QUIZ_OUTBOX_LEASE_SECONDS"])),
            commit_every=max(1, int(cfg.get("QUIZ_OUTBOX_COMMIT_EVERY", 20))),
            commit_seconds=float(cfg.get("QUIZ_OUTBOX_COMMIT_SECONDS", 0.5)),
            retry_for=timedelta(hours=int(cfg["QUIZ_OUTBOX_RETRY_HOURS"])),
            mail_from=mail_from,
            envelope_from=parseaddr(mail_from)[1],
            domain=mail_domain(mail_from),
            bounce_address=cfg.get("QUIZ_BOUNCE_ADDRESS") or None,
            verp_key=cfg["QUIZ_SECRET_KEY"],
            # Raises on an unusable key before anything is claimed: no message
            # goes out unsigned by accident, none is failed for our mistake.
            signer=signer_from_config(cfg),
        )


def rate_per_process(cfg: Mapping[str, Any]) -> float:
    """This process's share of QUIZ_SMTP_RATE, which is for all scheduler
    processes together (QUIZ_SCHEDULER_PROCESSES of them)."""
    return float(cfg.get("QUIZ_SMTP_RATE", 0)) / max(1, int(cfg.get("QUIZ_SCHEDULER_PROCESSES", 1)))


class _RelayDown(Exception):
    """The relay cannot take messages now; stop sending until the next tick."""


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
        self.context_for = context_for
        self.session, self.transport, self.clock, self.name = session, transport, clock, name
        self.settings, self.report, self.stop, self.limiter = settings, report, stop, limiter
        self.on_progress = on_progress
        self._sent: list[tuple[int, datetime, str]] = []
        self._last_flush = time.monotonic()
        # The last `_recheck`: rows still held for a participant who receives
        # mail, rows whose participant has gone (id -> status), and when.
        self._cleared: set[int] = set()
        self._gone: dict[int, str] = {}
        self._checked_at = 0.0

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
        deliveries = _load(self.session, ids)
        prefetch_reminders(self.session, deliveries)
        done: set[int] = set()
        try:
            for i, delivery in enumerate(deliveries):
                if self.stopped() or time.monotonic() > deadline:
                    break
                self.limiter.wait(self.stop)
                if (
                    delivery.id not in self._cleared
                    or time.monotonic() - self._checked_at >= self.settings.commit_seconds
                ):
                    self._recheck(deliveries[i : i + self.settings.commit_every])
                done.add(delivery.id)  # whatever happens next, this row is dealt with
                self._send_one(delivery)
                if self.on_progress:
                    self.on_progress(1)
        finally:
            self._flush()
            left = [d.id for d in deliveries if d.id not in done]
            if left:
                self.report.count("released", outbox.release(self.session, left, self.name))

    def _recheck(self, group: Sequence[Delivery]) -> None:
        """Ask the database, once for the next group, which of these rows this
        sender still holds and whether their participant still receives mail:
        the batch was loaded minutes ago, perhaps (see the module docstring)."""
        rows = self.session.execute(
            select(Delivery.id, Participant.status, Participant.receives_mail.label("receives_mail"))
            .join(Participant, Participant.id == Delivery.participant_id)
            .where(
                Delivery.id.in_([d.id for d in group]),
                Delivery.status == "sending",
                Delivery.claimed_by == self.name,
            )
        ).all()
        self._cleared = {row.id for row in rows if row.receives_mail}
        self._gone = {row.id: row.status for row in rows if not row.receives_mail}
        self._checked_at = time.monotonic()

    def _flush(self) -> None:
        if self._sent:
            outbox.mark_sent_many(self.session, self.name, self._sent)
            self.session.commit()
            self.report.count("sent", len(self._sent))
            self._sent.clear()
        self._last_flush = time.monotonic()

    def _send_one(self, delivery: Delivery) -> None:
        participant = delivery.participant
        if delivery.id not in self._cleared and delivery.id not in self._gone:
            # Not ours any more (an operator, or a lease that ran out): whoever
            # holds it now settles it.
            log.warning("delivery %s is no longer held by %s; left alone", delivery.id, self.name)
            return
        # The loaded participant counts too: this sender may have bounced
        # them a moment ago (an earlier message of the same batch).
        if delivery.id in self._gone or not participant.receives_mail:
            status = self._gone.get(delivery.id, participant.status)
            self._flush()
            outbox.mark_cancelled(delivery, f"participant is {status}")
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
            outbox.mark_deferred(self.session, delivery, now, str(exc), self.settings.retry_for)
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


def send_due(
    app: Flask,
    clock: Callable[[], datetime],
    worker: str,
    stop: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
    limit: int | None = None,
) -> DrainReport:
    """Send due deliveries over one SMTP connection until none is due (or
    `stop`, or `limit` messages taken); `worker` names this sender in claims.

    Stops between messages when `stop` is set, so SIGTERM never cuts a
    message in half; what was claimed but not sent is released.
    """
    settings = SendSettings.from_config(app.config)
    report = DrainReport()
    limiter = RateLimiter(rate_per_process(app.config))
    transport = transport_from_config(app.config)
    with app.app_context(), session_scope(app) as session, transport:
        _Worker(session, transport, clock, worker, settings, report, stop, limiter, on_progress).run(limit)
    return report


def plan_due(app: Flask, now: datetime) -> Any:
    """One planning round (see quiz.delivery.planner.plan) in its own session."""

    with app.app_context(), session_scope(app) as session:
        return plan(session, now)
