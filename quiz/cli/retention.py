"""`quiz retention [--dry-run]`: erase personal data past the retention period.

The same run the scheduler makes daily (see quiz.rights.retention for the rules).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from quiz.db import get_session, utcnow
from quiz.rights import retention


def register(group: AppGroup) -> None:
    @group.command("retention")
    @click.option("--dry-run", is_flag=True, help="Only say what would be erased and removed.")
    def retention_command(dry_run: bool) -> None:
        """Erase personal data QUIZ_RETENTION_DAYS after a participant's last quiz
        day (answers stay, anonymously) and remove signups never confirmed
        within 7 days."""
        days = current_app.config["QUIZ_RETENTION_DAYS"]
        result = retention.run(get_session(), utcnow(), days, dry_run=dry_run)
        verb = ("Would erase", "would remove") if dry_run else ("Erased", "removed")
        click.echo(
            f"{verb[0]} the personal data of {result.erase_count} participants "
            f"(last quiz day more than {days} days ago); {verb[1]} {result.remove_count} "
            f"signups never confirmed within {retention.UNCONFIRMED_DAYS} days."
        )
