"""Campaign commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from quiz.db import get_session, utcnow
from quiz.models import Campaign

DEFAULT_SLUG = "meldcodequiz"


def ensure_default_campaign(session, now) -> tuple[Campaign, bool]:  # noqa: ANN001
    """The campaign `make run` needs: created, open for signup, when none exists.

    A campaign without questions gets the newest version of the shipped
    "meldcode" set, when that has been imported; one with questions keeps them.
    """
    from quiz.questionsets.store import latest_version

    existing = session.scalar(select(Campaign).order_by(Campaign.created_at.desc()))
    campaign = existing or Campaign(
        slug=DEFAULT_SLUG,
        name="MeldcodeQuiz",
        start_mode="rolling",
        created_at=now,
        skip_dates=[],
    )
    if campaign.question_set_id is None:
        campaign.question_set = latest_version(session, "meldcode")
    if existing is None:
        session.add(campaign)
    session.commit()
    return campaign, existing is None


def register(group: AppGroup) -> None:
    @group.group("campaign")
    def campaign() -> None:
        """Create and inspect campaigns."""

    @campaign.command("ensure-default")
    def ensure_default() -> None:
        """Create an open, rolling-start campaign when there is none (used by `make run`)."""
        c, created = ensure_default_campaign(get_session(), utcnow())
        click.echo(f"{'Created' if created else 'Using'} campaign {c.slug!r}.")
