"""Forms with Dutch messages. Email addresses are checked by email-validator."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from quiz.models import SECTORS


def one_line(value: str | None) -> str | None:
    """What the form keeps of a text field: control characters dropped (a NUL
    cannot even be stored in PostgreSQL), whitespace collapsed, so a name
    with line breaks becomes one line. Runs before the validators, so
    "required" and the length limits apply to what will be stored."""
    if value is None:
        return None
    value = "".join(ch for ch in value if ch.isprintable() or ch.isspace())
    return " ".join(value.split())


class SignupForm(FlaskForm):
    email = EmailField(
        "E-mailadres",
        validators=[
            DataRequired("Vul je e-mailadres in."),
            Length(max=254, message="Dit e-mailadres is te lang."),
        ],
    )
    name = StringField(
        "Naam (niet verplicht)",
        filters=[one_line],
        validators=[Optional(), Length(max=100, message="Gebruik hooguit 100 tekens.")],
    )
    organisation = StringField(
        "Organisatie",
        filters=[one_line],
        validators=[
            DataRequired("Vul de naam van je organisatie in."),
            Length(max=150, message="Gebruik hooguit 150 tekens."),
        ],
    )
    sector = SelectField(
        "Sector",
        choices=[
            SelectChoice("", "Kies je sector"),
            *(SelectChoice(v, label) for v, label in SECTORS.items()),
        ],
        validators=[DataRequired("Kies je sector.")],
        validate_choice=False,  # validate_sector gives the Dutch message
    )
    role = StringField(
        "Functie (niet verplicht)",
        filters=[one_line],
        validators=[Optional(), Length(max=100, message="Gebruik hooguit 100 tekens.")],
    )
    consent = BooleanField(
        "Ik geef toestemming",
        validators=[DataRequired("Geef toestemming, anders kunnen we je de vragen niet sturen.")],
    )

    # Honeypot: hidden from people (CSS and aria-hidden), filled in by bots
    # that fill every field. Named like a field a bot expects to fill.
    website = StringField("Laat dit veld leeg", validators=[Optional()])

    normalised_email: str = ""

    @property
    def is_bot(self) -> bool:
        return bool((self.website.data or "").strip())

    def validate_email(self, field: EmailField) -> None:
        try:
            result = validate_email(
                field.data or "",
                check_deliverability=current_app.config["QUIZ_EMAIL_CHECK_DELIVERABILITY"],
            )
        except EmailNotValidError as exc:
            raise ValidationError(
                "Dit is geen geldig e-mailadres. Controleer het, bijvoorbeeld naam@school.nl."
            ) from exc
        if result.smtputf8 and not current_app.config["QUIZ_SMTPUTF8"]:
            # A local part that is not ASCII (jörg@) needs SMTPUTF8, which our
            # relay does not offer (QUIZ_SMTPUTF8): accepted, it would never be mailed.
            raise ValidationError(
                "Dit e-mailadres heeft letters als ö of é vóór de @. Daar kunnen we nog geen e-mail"
                " naartoe sturen. Gebruik een ander e-mailadres, bijvoorbeeld naam@school.nl."
            )
        self.normalised_email = result.normalized

    def validate_sector(self, field: SelectField) -> None:
        if field.data not in SECTORS:
            raise ValidationError("Kies je sector.")


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the button is the whole form."""
