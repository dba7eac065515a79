"""Campaign commands: create, edit, list, show, which one `/` serves (`public`), the QR
code of a campaign's signup link (`qr`), and `ensure-default` for `make run`."""

from __future__ import annotations

import re
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from quiz.db import get_session, utcnow
from quiz.models import REPEAT_MODES, Campaign, Delivery, Participant, Question
from quiz.signup.public import make_public, open_campaigns, public_campaign, qr_svg, signup_url
from quiz.urls import external_url

DEFAULT_SLUG = "meldcodequiz"


def after_the_week_options(defaults: bool):  # noqa: ANN201 - a click decorator
    """--repeats, --repeat-interval, --repeat-max and --certificates/--no-certificates:
    with the model's column defaults for `create`, none for `edit` (an option
    left out changes nothing)."""

    def default(column: str) -> object:
        return Campaign.__table__.c[column].default.arg if defaults else None

    options = (
        click.option(
            "--repeats",
            type=click.Choice(REPEAT_MODES),
            default=default("repeats"),
            show_default=defaults,
            help="Repeat questions after the week: none, only wrong or unanswered ones, or all.",
        ),
        click.option(
            "--repeat-interval",
            type=click.IntRange(1, 60),
            default=default("repeat_interval_days"),
            show_default=defaults,
            help="Working days from the last quiz day to round 1; round n after n times this.",
        ),
        click.option(
            "--repeat-max",
            type=click.IntRange(1, 5),
            default=default("repeat_max"),
            show_default=defaults,
            help="Rounds of repeats at most.",
        ),
        click.option(
            "--certificates/--no-certificates",
            default=default("certificates_enabled"),
            show_default=defaults,
            help="Certificates of participation." + ("" if defaults else " (default: unchanged)"),
        ),
    )

    def apply(fn):  # noqa: ANN001, ANN202
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


def ensure_default_campaign(session, now) -> tuple[Campaign, bool]:  # noqa: ANN001
    """The campaign `make run` needs: created, open for signup and public, when none exists.

    An existing database keeps the public campaign its organisers chose (or
    none). A campaign without questions gets the newest version of the shipped
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
        public=session.scalar(select(Campaign.id).where(Campaign.public.is_(True))) is None,
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

    @campaign.command("create")
    @click.argument("slug")
    @click.option("--name", help="Shown to participants; default: the slug.")
    @click.option(
        "--question-set", "set_slug", required=True, help="Slug of an imported question set (newest version)."
    )
    @click.option(
        "--start-mode", type=click.Choice(["fixed", "rolling"]), default="rolling", show_default=True
    )
    @click.option("--start-date", type=click.DateTime(["%Y-%m-%d"]), help="First quiz day (fixed start).")
    @click.option("--send-time", default="07:30", show_default=True, help="HH:MM, local time.")
    @click.option("--timezone", "tz", default="Europe/Amsterdam", show_default=True)
    @click.option(
        "--skip-date", "skip_dates", multiple=True, type=click.DateTime(["%Y-%m-%d"]), help="Repeatable."
    )
    @click.option("--signup-opens", help="YYYY-MM-DD HH:MM, local time; default: open now.")
    @click.option("--signup-closes", help="YYYY-MM-DD HH:MM, local time; default: never.")
    @click.option(
        "--followup-time", default="15:00", show_default=True, help="HH:MM, local: follow-ups and summary."
    )
    @click.option("--followups/--no-followups", default=True, show_default=True, help="Follow-up per answer.")
    @click.option(
        "--reminders/--no-reminders", default=True, show_default=True, help="'Nog niet beantwoord' block."
    )
    @click.option("--summary/--no-summary", default=True, show_default=True, help="Summary after the quiz.")
    @after_the_week_options(defaults=True)
    def create(
        slug, name, set_slug, start_mode, start_date, send_time, tz, skip_dates, signup_opens, signup_closes,
        followup_time, followups, reminders, summary, repeats, repeat_interval, repeat_max, certificates,
    ):  # noqa: ANN001, ANN202, PLR0913  # fmt: skip
        """Create a campaign SLUG that sends a question set."""
        from quiz.questionsets.store import latest_version

        session = get_session()
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,79}", slug):
            raise click.BadParameter("lower-case letters, digits and '-' only", param_hint="SLUG")
        if session.scalar(select(Campaign.id).where(Campaign.slug == slug)) is not None:
            raise click.BadParameter(f"a campaign {slug!r} exists already", param_hint="SLUG")
        question_set = latest_version(session, set_slug)
        if question_set is None:
            raise click.BadParameter(
                f"no question set {set_slug!r}; import it first", param_hint="--question-set"
            )
        if start_mode == "fixed" and start_date is None:
            raise click.BadParameter("a fixed start needs --start-date", param_hint="--start-date")
        zone = _zone(tz)
        c = Campaign(
            slug=slug,
            name=name or slug,
            question_set=question_set,
            start_mode=start_mode,
            start_date=start_date.date() if start_date and start_mode == "fixed" else None,
            send_time=_clock_time(send_time),
            followup_time=_clock_time(followup_time, "--followup-time"),
            followups_enabled=followups,
            reminders_enabled=reminders,
            summary_enabled=summary,
            certificates_enabled=certificates,
            repeats=repeats,
            repeat_interval_days=repeat_interval,
            repeat_max=repeat_max,
            timezone=tz,
            skip_dates=sorted({d.date().isoformat() for d in skip_dates}),
            signup_opens_at=_local_moment(signup_opens, zone, "--signup-opens"),
            signup_closes_at=_local_moment(signup_closes, zone, "--signup-closes"),
            created_at=utcnow(),
        )
        if c.signup_opens_at and c.signup_closes_at and c.signup_closes_at <= c.signup_opens_at:
            raise click.BadParameter("must be after --signup-opens", param_hint="--signup-closes")
        session.add(c)
        session.commit()
        click.echo(f"Created campaign {slug!r} with {len(question_set.questions)} questions.")

    @campaign.command("edit")
    @click.argument("slug")
    @after_the_week_options(defaults=False)
    def edit(
        slug: str,
        certificates: bool | None,
        repeats: str | None,
        repeat_interval: int | None,
        repeat_max: int | None,
    ) -> None:
        """Change settings of campaign SLUG; options left out stay as they are."""
        session = get_session()
        c = session.scalar(select(Campaign).where(Campaign.slug == slug))
        if c is None:
            raise click.BadParameter(f"no campaign {slug!r}", param_hint="SLUG")
        changes = {
            "certificates_enabled": certificates,
            "repeats": repeats,
            "repeat_interval_days": repeat_interval,
            "repeat_max": repeat_max,
        }
        changes = {name: value for name, value in changes.items() if value is not None}
        if not changes:
            raise click.UsageError("nothing to change: give at least one option (see --help)")
        for name, value in changes.items():
            setattr(c, name, value)
        session.commit()
        click.echo(
            f"Changed campaign {slug!r}: repeats {_repeats_text(c)}; "
            f"certificates {'on' if c.certificates_enabled else 'off'}."
        )

    @campaign.command("list")
    def list_() -> None:
        """All campaigns, newest first, with participant counts."""
        session = get_session()
        counts = dict(
            session.execute(
                select(Participant.campaign_id, func.count()).group_by(Participant.campaign_id)
            ).all()
        )
        rows = session.scalars(select(Campaign).order_by(Campaign.created_at.desc())).all()
        if not rows:
            click.echo("No campaigns yet: `quiz campaign create`.")
        elif not any(c.public for c in rows):
            click.echo("No public campaign: / lists the campaigns open for signup (`quiz campaign public`).")
        for c in rows:
            start = c.start_date.isoformat() if c.start_mode == "fixed" and c.start_date else "rolling"
            click.echo(
                f"{'/' if c.public else ' '} {c.slug:<24} {start:<10} {c.send_time:%H:%M} "
                f"signup {c.signup_state(utcnow()):<8} "
                f"{counts.get(c.id, 0):>7} participants  {c.name}"
            )

    @campaign.command("show")
    @click.argument("slug")
    def show(slug: str) -> None:
        """Settings, schedule and participant/outbox counts of one campaign."""
        from quiz.delivery.planner import first_quiz_day
        from quiz.delivery.workdays import nth_working_day, parse_skip_dates

        session = get_session()
        c = _campaign(session, slug)
        zone = ZoneInfo(c.timezone)
        n = session.scalar(select(func.count()).where(Question.question_set_id == c.question_set_id)) or 0
        qs = c.question_set
        lines = [
            f"campaign      {c.slug} — {c.name}",
            f"signup link   {signup_url(c)}"
            + (f" (the public campaign: {external_url('signup.form')} serves it too)" if c.public else ""),
            f"questions     {qs.slug + ' v' + str(qs.version) if qs else '(none)'}: {n}",
            f"start         {c.start_mode}{' ' + c.start_date.isoformat() if c.start_date else ''}",
            f"send time     {c.send_time:%H:%M} {c.timezone}",
            f"follow-ups    {'at ' + format(c.followup_time, '%H:%M') if c.followups_enabled else 'off'}; "
            f"reminders {'on' if c.reminders_enabled else 'off'}; "
            f"summary {'at ' + format(c.followup_time, '%H:%M') if c.summary_enabled else 'off'}",
            f"repeats       {_repeats_text(c)}",
            f"skip dates    {', '.join(c.skip_dates or []) or '-'}",
            f"certificates  {'on' if c.certificates_enabled else 'off'}",
            f"signup        {_fmt(c.signup_opens_at, zone)} .. {_fmt(c.signup_closes_at, zone)}"
            f" ({c.signup_state(utcnow())})",
        ]
        if c.start_mode == "fixed" and c.start_date and n:
            first = first_quiz_day(c, datetime.combine(c.start_date, time(0), tzinfo=zone))
            skips = parse_skip_dates(c.skip_dates or ())
            days = ", ".join(f"{k}: {nth_working_day(first, k, skips):%a %d %b}" for k in range(1, n + 1))
            lines.append(f"quiz days     {days} (who confirms before the start)")
        for label, model, column in (
            ("participants", Participant, Participant.status),
            ("deliveries", Delivery, Delivery.status),
        ):
            query = select(column, func.count()).group_by(column)
            query = (
                query.where(Participant.campaign_id == c.id)
                if model is Participant
                else query.join(Participant).where(Participant.campaign_id == c.id)
            )
            counts = ", ".join(f"{status} {count}" for status, count in session.execute(query).all())
            lines.append(f"{label:<13} {counts or '-'}")
        click.echo("\n".join(lines))

    @campaign.command("public")
    @click.argument("slug", required=False)
    @click.option("--none", "no_campaign", is_flag=True, help="No public campaign: / lists the open ones.")
    def public(slug: str | None, no_campaign: bool) -> None:
        """Choose the campaign the front page / serves; without SLUG, say which one it is."""
        session = get_session()
        if slug and no_campaign:
            raise click.UsageError("give a SLUG or --none, not both")
        if slug or no_campaign:
            chosen = _campaign(session, slug) if slug else None
            try:
                make_public(session, chosen)
            except IntegrityError:
                raise click.ClickException(
                    "another public campaign was chosen at the same moment; nothing changed, try again"
                ) from None
        current = public_campaign(session)
        home = external_url("signup.form")
        if current is None:
            names = ", ".join(c.slug for c in open_campaigns(session, utcnow())) or "none"
            click.echo(f"No public campaign: {home} lists the campaigns open for signup ({names}).")
        else:
            click.echo(f"Public campaign: {current.slug!r} — {home} serves its signup form.")

    @campaign.command("qr")
    @click.argument("slug")
    @click.option(
        "-o", "--output", type=click.Path(dir_okay=False), help="The SVG file (default: qr-SLUG.svg)."
    )
    def qr(slug: str, output: str | None) -> None:
        """Write a QR code (SVG) of the campaign's own signup link, for posters and slides."""
        c = _campaign(get_session(), slug)
        url = signup_url(c)
        target = Path(output or f"qr-{c.slug}.svg")
        target.write_text(qr_svg(url), encoding="utf-8")
        click.echo(f"Signup link {url}\nQR code written to {target}.")

    @campaign.command("ensure-default")
    def ensure_default() -> None:
        """Create an open, public, rolling-start campaign when there is none (used by `make run`)."""
        c, created = ensure_default_campaign(get_session(), utcnow())
        public = " (public: / serves it)" if c.public else ""
        click.echo(f"{'Created' if created else 'Using'} campaign {c.slug!r}{public}.")


def _campaign(session, slug: str) -> Campaign:  # noqa: ANN001
    c = session.scalar(select(Campaign).where(Campaign.slug == slug))
    if c is None:
        raise click.BadParameter(f"no campaign {slug!r}", param_hint="SLUG")
    return c


def _repeats_text(c: Campaign) -> str:
    if c.repeats == "none":
        return "none"
    return (
        f"{c.repeats}; round n due n * {c.repeat_interval_days} working days after the last quiz day; "
        f"at most {c.repeat_max} round{'s' if c.repeat_max != 1 else ''}"
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {name!r}", param_hint="--timezone") from None


def _clock_time(value: str, hint: str = "--send-time") -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use HH:MM, e.g. 07:30", param_hint=hint) from None


def _local_moment(value: str | None, zone: ZoneInfo, hint: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD HH:MM", param_hint=hint) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _fmt(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "-"
