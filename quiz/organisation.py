"""Who runs this quiz: the organisation, its contact details and logo, from settings.

Any organiser can run the quiz under its own name: the footer of every
public page, the colofon, the privacy statement (which names it as the
controller) and the emails all read it from here, never from a literal.
Pages get it as `organisation` in every template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from quiz.config import LOGO_TYPES

DEFAULT_LOGO = Path(__file__).resolve().parent / "static" / "logo.svg"


@dataclass(frozen=True)
class Organisation:
    name: str
    contact_email: str
    privacy_email: str
    address: str | None
    website: str | None
    kvk: str | None
    phone: str | None
    logo: Path

    @property
    def logo_type(self) -> str:
        """The logo's media type, from its file name (checked at start-up)."""
        return LOGO_TYPES[self.logo.suffix.lower()]


def from_settings(settings: Mapping[str, Any]) -> Organisation:
    """The organisation as the QUIZ_ORGANISATION_*, QUIZ_CONTACT_*, QUIZ_PRIVACY_CONTACT
    and QUIZ_LOGO_FILE settings describe it (empty optional values are None)."""
    logo = settings.get("QUIZ_LOGO_FILE")
    return Organisation(
        name=settings["QUIZ_ORGANISATION_NAME"],
        contact_email=settings["QUIZ_CONTACT_EMAIL"],
        privacy_email=settings["QUIZ_PRIVACY_CONTACT"],
        address=settings.get("QUIZ_ORGANISATION_ADDRESS") or None,
        website=settings.get("QUIZ_ORGANISATION_WEBSITE") or None,
        kvk=settings.get("QUIZ_ORGANISATION_KVK") or None,
        phone=settings.get("QUIZ_CONTACT_PHONE") or None,
        logo=Path(logo).resolve() if logo else DEFAULT_LOGO,
    )


def current() -> Organisation:
    """The organisation of the app handling this request (or rendering this email)."""
    return from_settings(current_app.config)


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"organisation": current()})
