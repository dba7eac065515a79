"""`quiz bounces fetch`: read the bounce mailbox and record the bounces (quiz.delivery.bounces)."""

from __future__ import annotations

import imaplib

import click
from flask import current_app
from flask.cli import AppGroup

from quiz.db import utcnow


def register(group: AppGroup) -> None:
    @group.group("bounces")
    def bounces() -> None:
        """Bounces that came back after the relay accepted a message."""

    @bounces.command("fetch")
    @click.option("--limit", default=500, show_default=True, help="Messages to read at most.")
    def fetch_cmd(limit: int) -> None:
        """Read unread messages in QUIZ_IMAP_URL and record hard and soft bounces."""
        from quiz.delivery.bounce_mailbox import fetch

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        if not app.config.get("QUIZ_IMAP_URL") or not app.config.get("QUIZ_BOUNCE_ADDRESS"):
            raise click.ClickException(
                "Set QUIZ_IMAP_URL and QUIZ_BOUNCE_ADDRESS first (see docs/deploy.md)."
            )
        try:
            report = fetch(app, utcnow(), limit=limit)
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"Cannot read the bounce mailbox: {exc}") from exc
        except imaplib.IMAP4.error as exc:  # login refused, no such mailbox
            raise click.ClickException(f"The IMAP server refused: {exc}") from exc
        click.echo(f"Bounces: {report}.")
