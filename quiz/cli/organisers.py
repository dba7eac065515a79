"""Organiser accounts: `quiz organiser add|list|disable|enable`.

Accounts are made by an operator on the command line, never in the browser:
there is no signup for the admin and no password-reset email to abuse.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from quiz.admin.organisers import change_password, create_organiser, normalise_email
from quiz.db import get_session, utcnow
from quiz.models import Organiser


def _find(email: str) -> Organiser:
    try:
        address = normalise_email(email)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL") from None
    organiser = get_session().scalar(select(Organiser).where(Organiser.email == address))
    if organiser is None:
        raise click.ClickException(f"no organiser {address}; see `quiz organiser list`")
    return organiser


def _read_password(prompt: str, from_stdin: bool) -> str:
    """The first line of standard input, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


def register(group: AppGroup) -> None:
    @group.group("organiser")
    def organiser() -> None:
        """Accounts of the campaign team for the admin pages (/admin)."""

    password_stdin = click.option(
        "--password-stdin",
        is_flag=True,
        help="Read the password from the first line of standard input instead of prompting.",
    )

    @organiser.command("add")
    @click.argument("email")
    @password_stdin
    def add(email: str, password_stdin: bool) -> None:
        """Create an organiser EMAIL who can log in at /admin."""
        password = _read_password("Password", password_stdin)
        try:
            created = create_organiser(get_session(), email, password, utcnow())
        except ValueError as exc:
            raise click.ClickException(f"Not created: {exc}.") from None
        click.echo(f"Created organiser {created.email}; log in at /admin.")

    @organiser.command("password")
    @click.argument("email")
    @password_stdin
    def password(email: str, password_stdin: bool) -> None:
        """Give EMAIL a new password; their open sessions end."""
        o = _find(email)
        new = _read_password("New password", password_stdin)
        try:
            change_password(get_session(), o, new)
        except ValueError as exc:
            raise click.ClickException(f"Not changed: {exc}.") from None
        click.echo(f"Changed the password of {o.email}; their open sessions ended.")

    @organiser.command("list")
    def list_() -> None:
        """All organisers, with their state and last login."""
        rows = get_session().scalars(select(Organiser).order_by(Organiser.email)).all()
        if not rows:
            click.echo("No organisers yet: `quiz organiser add EMAIL`.")
        for o in rows:
            state = "active" if o.active else "disabled"
            last = f"{o.last_login_at:%Y-%m-%d %H:%M} UTC" if o.last_login_at else "never"
            click.echo(f"{o.email:<40} {state:<10} last login {last}")

    @organiser.command("disable")
    @click.argument("email")
    def disable(email: str) -> None:
        """Stop EMAIL from logging in; open sessions end at their next request."""
        o = _find(email)
        o.active = False
        get_session().commit()
        click.echo(f"Disabled {o.email}.")

    @organiser.command("enable")
    @click.argument("email")
    def enable(email: str) -> None:
        """Let a disabled organiser EMAIL log in again."""
        o = _find(email)
        o.active = True
        get_session().commit()
        click.echo(f"Enabled {o.email}.")
