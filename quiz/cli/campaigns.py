"""Campaign commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from quiz.db import get_session, utcnow
from quiz.models import Campaign

DEFAULT_SLUG = "meldcodequiz"


def ensure_default_campaign(session, now) -> tuple[Campaign, bool]:  # noqa: ANN001
    """The campaign `make run` needs: created, open for signup, when none exists."""
    existing = session.scalar(select(Campaign).order_by(Campaign.created_at.desc()))
    if existing is not None:
        return existing, False
    campaign = Campaign(
        slug=DEFAULT_SLUG,
        name="MeldcodeQuiz",
        start_mode="rolling",
        created_at=now,
        skip_dates=[],
    )
    session.add(campaign)
    session.commit()
    return campaign, True


def register(group: AppGroup) -> None:
    @group.group("campaign")
    def campaign() -> None:
        """Create and inspect campaigns."""

    @campaign.command("ensure-default")
    def ensure_default() -> None:
        """Create an open, rolling-start campaign when there is none (used by `make run`)."""
        c, created = ensure_default_campaign(get_session(), utcnow())
        click.echo(f"{'Created' if created else 'Using'} campaign {c.slug!r}.")
