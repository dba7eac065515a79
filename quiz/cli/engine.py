"""The delivery engine's commands: `quiz tick`, `quiz outbox status|retry`."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from quiz.db import get_session, utcnow
from quiz.delivery import outbox
from quiz.models import Campaign, Delivery, Participant


def _parse_now(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2026-11-16T07:30+01:00", param_hint="--now") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a UTC offset, e.g. 2026-11-16T07:30+01:00", param_hint="--now")
    return moment.astimezone(UTC)


@contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; a plain line per 10 % otherwise (logs, CI)."""
    lock = threading.Lock()
    if sys.stdout.isatty():
        with click.progressbar(length=total, label=label) as bar:

            def step(n: int) -> None:
                with lock:
                    bar.update(n)

            yield step
        return
    done = [0, 0]  # messages, last reported tenth

    def line(n: int) -> None:
        with lock:
            done[0] += n
            tenth = done[0] * 10 // max(total, 1)
            if tenth > done[1]:
                done[1] = tenth
                click.echo(f"{label}: {done[0]}/{total}")

    yield line


def _planned_at(now: datetime) -> Counter[tuple[str, int]]:
    """Outbox rows the planner stamped with `now`, by (kind, day).

    The rules report only a count per kind; "question 1" read as "question
    number 1" on day 2. Every rule stamps its rows with the round's `now`, so
    the rows counted before and after a round say which kind and day it
    planned, without changing the rules' interface.
    """
    session = get_session()
    rows = session.execute(
        select(Delivery.kind, Delivery.day, func.count())
        .where(Delivery.created_at == now)
        .group_by(Delivery.kind, Delivery.day)
    ).all()
    session.rollback()  # no open read transaction while the planner writes (SQLite)
    return Counter({(kind, day): count for kind, day, count in rows})


def _what(kind: str, day: int) -> str:
    if kind == "repeat":  # day = 100 * round + position (quiz.models.Delivery)
        return f"repeat round {day // 100} of question {day % 100}"
    return f"{kind} for day {day}" if day else kind


def _describe(added: Counter[tuple[str, int]]) -> str:
    """' (question for day 2: 1; followup for day 1: 3)', or '' when nothing was planned."""
    if not added:
        return ""
    return " (" + "; ".join(f"{_what(kind, day)}: {n}" for (kind, day), n in sorted(added.items())) + ")"


def register(group: AppGroup) -> None:
    @group.command("tick")
    @click.option("--now", "now_text", help="Act as if it were this moment (ISO 8601 with offset).")
    def tick(now_text: str | None) -> None:
        """Plan and send once: what the scheduler does every minute."""
        from quiz.delivery.sender import plan_due, send_due

        now = _parse_now(now_text)
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        before = _planned_at(now)
        planned = plan_due(app, now)
        added = _planned_at(now) - before
        click.echo(f"Planned: {planned.total}{_describe(added)}")
        if planned.completed:
            click.echo(f"Completed the quiz: {planned.completed} participants")
        due = outbox.count_due(get_session(), now)
        get_session().rollback()
        with progress(due, "Sending") as step:
            report = send_due(app, lambda: now, f"cli:{threading.get_ident()}", on_progress=step)
        click.echo(
            f"Sent {report.sent}, deferred {report.deferred}, failed {report.failed}, "
            f"cancelled {report.cancelled}, released {report.released}."
        )
        for error in report.errors[:10]:
            click.echo(f"  {error}", err=True)

    @group.group("outbox")
    def outbox_group() -> None:
        """Inspect and retry the outbox."""

    @outbox_group.command("status")
    @click.option(
        "--errors", "n_errors", default=10, show_default=True, help="How many recent errors to show."
    )
    def status(n_errors: int) -> None:
        """Counts by kind and status, the oldest waiting delivery, failed emails, recent errors."""
        session = get_session()
        rows = session.execute(
            select(Delivery.kind, Delivery.status, func.count())
            .group_by(Delivery.kind, Delivery.status)
            .order_by(Delivery.kind, Delivery.status)
        ).all()
        if not rows:
            click.echo("The outbox is empty.")
            return
        click.echo(f"{'kind':<20} {'status':<10} {'count':>8}")
        for kind, st, count in rows:
            click.echo(f"{kind:<20} {st:<10} {count:>8}")
        oldest = session.scalar(
            select(func.min(Delivery.due_at)).where(Delivery.status.in_(outbox.CLAIMABLE))
        )
        click.echo(f"oldest waiting: {oldest.isoformat() if oldest else '-'}")
        failed = session.execute(
            select(Delivery.id, Delivery.kind, Delivery.day, Delivery.attempts, Campaign.slug)
            .add_columns(Delivery.last_error)
            .join(Participant, Participant.id == Delivery.participant_id)
            .join(Campaign, Campaign.id == Participant.campaign_id)
            .where(Delivery.status == "failed")
            .order_by(Delivery.id.desc())
            .limit(n_errors)
        ).all()
        if failed:
            # A failed question is settled: the participant has moved on to the next one.
            click.echo("failed, newest first (`quiz outbox retry [--campaign SLUG | --delivery ID]`):")
        for did, kind, day, attempts, slug, error in failed:
            label = f"{kind} {day}" if day else kind
            click.echo(f"  #{did} {slug} {label}, {attempts} attempt(s): {error}")
        deferred = session.execute(
            select(Delivery.id, Delivery.kind, Delivery.day, Delivery.next_attempt_at, Delivery.last_error)
            .where(Delivery.status == "deferred")
            .order_by(Delivery.id.desc())
            .limit(n_errors)
        ).all()
        if deferred:
            hours = current_app.config["QUIZ_OUTBOX_RETRY_HOURS"]
            click.echo(f"deferred, retried until {hours} hours after due, then failed:")
        for did, kind, day, next_at, error in deferred:
            label = f"{kind} {day}" if day else kind
            click.echo(f"  #{did} {label}, next try {next_at.isoformat() if next_at else '-'}: {error}")

    @outbox_group.command("retry")
    @click.option("--failed", "which", flag_value="failed", default=True, help="Failed deliveries (default).")
    @click.option(
        "--deferred", "which", flag_value="deferred", help="Deferred deliveries, now instead of later."
    )
    @click.option("--campaign", "slug", help="Only this campaign.")
    @click.option(
        "--delivery", "delivery_id", type=click.IntRange(min=1), help="Only this delivery (#ID in status)."
    )
    def retry(which: str, slug: str | None, delivery_id: int | None) -> None:
        """Queue failed (or deferred) deliveries again, for the next round (their due time has passed).

        Retrying a failed delivery of a bounced participant makes them active
        again and re-queues what the bounce cancelled: use it when the address
        was fine after all (a relay misconfiguration, a full mailbox).
        """
        session = get_session()
        campaign_id = None
        if slug:
            campaign_id = session.scalar(select(Campaign.id).where(Campaign.slug == slug))
            if campaign_id is None:
                raise click.BadParameter(f"no campaign {slug!r}", param_hint="--campaign")
        queued = outbox.requeue(session, utcnow(), which, campaign_id=campaign_id, delivery_id=delivery_id)
        click.echo(f"Queued again: {queued} {which} deliveries; the scheduler sends them on its next round.")
        if delivery_id is not None and not queued:
            click.echo(
                f"Delivery #{delivery_id} was not queued: it is not {which}, or its participant "
                "unsubscribed or erased their data.",
                err=True,
            )
