"""'Send me a test': every email of the quiz sequence at once, to the organiser.

The emails are rendered with the real templates and context builders and go
out through the real mailer and transport, but never through the outbox: an
organiser is not a participant, and a test must leave no Delivery behind.
Each is marked as a test ([TEST] in the subject, a banner in the body, an
X-MeldcodeQuiz-Test header).

The sequence is data: every kind in SEQUENCE whose templates exist in
email_templates/ is sent. Reminders are not an email of their own: they are a
block inside the next question email, so the question emails show them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid, parseaddr
from types import SimpleNamespace
from typing import Any

from flask import current_app
from markupsafe import escape

from quiz.delivery.emails import context_for, render_question_preview
from quiz.delivery.mail_templates import TEMPLATE_DIR, RenderedEmail, render_email
from quiz.delivery.mailer import Envelope, build_message, mail_domain, transport_from_config
from quiz.models import Campaign, Question, QuestionSet
from quiz.repeats.rules import repeat_day

# (kind, one per question day?) in the order a participant receives them.
SEQUENCE: tuple[tuple[str, bool], ...] = (
    ("confirm", False),
    ("question", True),
    ("followup", True),
    ("summary", False),
    ("repeat", True),  # round 1 of each question (herhaalvraag), whatever the campaign's setting
)
SUBJECT_PREFIX = "[TEST] "
TEST_HEADER = "X-MeldcodeQuiz-Test"
_BANNER_TEXT = "TEST: dit is een test voor organisatoren. De links werken als voorbeeld en slaan niets op."


def kinds_available(template_dir: str = str(TEMPLATE_DIR)) -> list[str]:
    """The kinds of SEQUENCE that have all three templates."""
    from pathlib import Path

    base = Path(template_dir)
    return [
        kind
        for kind, _ in SEQUENCE
        if all((base / f"{kind}{suffix}").is_file() for suffix in (".subject.txt", ".txt", ".html"))
    ]


@dataclass
class SampleEmail:
    label: str  # e.g. "vraag 2", for the organiser's report
    email: RenderedEmail


def _fake_delivery(kind: str, question: Question | None, campaign: Campaign, to_addr: str) -> Any:
    """A stand-in for an outbox row: participant id 0 exists nowhere, so any
    personal link in a test email leads to a "link does not work" page."""
    participant = SimpleNamespace(
        id=0,
        email=to_addr,
        name=None,
        organisation=None,
        sector=None,
        role=None,
        status="active",
        campaign=campaign,
        campaign_id=campaign.id or 0,
        confirmed_at=None,
        first_quiz_day=None,
    )
    day = question.position if question is not None else 0
    return SimpleNamespace(
        id=0,
        kind=kind,
        day=repeat_day(1, day) if kind == "repeat" else day,
        question=question,
        question_id=question.id if question is not None else None,
        participant=participant,
        participant_id=0,
    )


def campaign_for_test(question_set: QuestionSet, campaign: Campaign | None) -> Campaign:
    """The campaign the test is for: a real one using the set, else an unsaved stand-in."""
    if campaign is not None:
        return campaign
    return Campaign(
        name=question_set.title,
        slug="test",
        start_mode="rolling",
        timezone="Europe/Amsterdam",
        skip_dates=[],
        question_set_id=question_set.id,
    )


def render_sequence(
    question_set: QuestionSet, campaign: Campaign | None, to_addr: str, now: datetime
) -> tuple[list[SampleEmail], list[str]]:
    """All emails of the sequence for this set, and the kinds that could not be rendered."""
    campaign = campaign_for_test(question_set, campaign)
    emails: list[SampleEmail] = []
    failed: list[str] = []
    for kind in kinds_available():
        per_day = dict(SEQUENCE)[kind]
        for question in question_set.questions if per_day else [None]:
            label = f"{kind} {question.position}" if question is not None else kind
            try:
                if kind == "question" and question is not None:
                    # Preview links: the pages a participant sees, recording nothing.
                    rendered = render_question_preview(question, now)
                else:
                    delivery = _fake_delivery(kind, question, campaign, to_addr)
                    rendered = render_email(kind, context_for(delivery, now))
            except Exception:  # noqa: BLE001 - one kind that cannot render yet must not stop the rest
                current_app.logger.warning("test email %s could not be rendered", label, exc_info=True)
                failed.append(label)
                continue
            emails.append(SampleEmail(label, mark_as_test(rendered)))
    return emails, failed


def mark_as_test(email: RenderedEmail) -> RenderedEmail:
    """[TEST] in the subject and a banner on top of both parts."""
    banner = (
        '<p style="background:#fff4d6;border:2px solid #f5a623;padding:8px;font-weight:bold">'
        f"{escape(_BANNER_TEXT)}</p>"
    )
    html, found = re.subn(r"(<body[^>]*>)", lambda m: m.group(1) + banner, email.html, count=1)
    return RenderedEmail(
        subject=SUBJECT_PREFIX + email.subject,
        text=f"{_BANNER_TEXT}\n\n{email.text}",
        html=html if found else banner + email.html,
    )


def send_all(config: Mapping[str, Any], emails: list[SampleEmail], to_addr: str, now: datetime) -> None:
    """Send through the configured transport (SMTP or the dev mailbox); SendError on failure."""
    mail_from = config["QUIZ_MAIL_FROM"]
    domain = mail_domain(mail_from)
    with transport_from_config(config) as transport:
        for item in emails:
            envelope = Envelope(to_addr, None, make_msgid("test", domain=domain), {TEST_HEADER: "yes"})
            transport.send(
                parseaddr(mail_from)[1], to_addr, build_message(item.email, envelope, mail_from, now)
            )
