"""`quiz check`: what is missing or unsafe before going live (quiz.ops.checks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from quiz.delivery.mailer import SendError, relay_features
from quiz.ops.checks import Layout, Relay, check, web_workers


def register(group: AppGroup) -> None:
    @group.command("check")
    @click.option("--strict", is_flag=True, help="Fail on warnings too.")
    def check_cmd(strict: bool) -> None:
        """List what is missing or unsafe for production; exit 1 on an error."""
        cfg = current_app.config
        layout = Layout(web_workers(), int(cfg["QUIZ_SCHEDULER_PROCESSES"]))
        findings = check(cfg, layout, _ask_relay(cfg) if cfg["QUIZ_MAIL_BACKEND"] == "smtp" else None)
        click.echo(
            f"Layout: {layout.web_workers} web worker(s) per server, {layout.schedulers} scheduler(s)."
        )
        if float(cfg["QUIZ_SMTP_RATE"]) > 0:
            from quiz.delivery.sender import rate_per_process  # the sender's own rule, loaded only here

            click.echo(
                f"Sending: at most {float(cfg['QUIZ_SMTP_RATE']):g} messages/s in all, "
                f"{rate_per_process(cfg):g} per scheduler process."
            )
        for finding in findings:
            click.echo(str(finding))
        errors = sum(f.level == "error" for f in findings)
        warnings = len(findings) - errors
        click.echo(f"{errors} error(s), {warnings} warning(s).")
        if errors or (strict and warnings):
            raise SystemExit(1)


def _ask_relay(cfg: Mapping[str, Any]) -> Relay:
    """Connect to QUIZ_SMTP_URL as the sender does (TLS, login) and read its EHLO reply."""
    try:
        return Relay(features=relay_features(cfg["QUIZ_SMTP_URL"]))
    except (SendError, ValueError) as exc:
        return Relay(error=str(exc))
