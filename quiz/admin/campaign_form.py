"""The campaign settings form, with Dutch messages, and how it maps onto a Campaign.

Times are entered in the campaign's local time (Europe/Amsterdam) and stored
as UTC, like everything else.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.meta import DefaultMeta
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from quiz.models import Campaign, Delivery, Participant, QuestionSet

DATE_LINE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})-(\d{1,2})-(\d{4})")


class DutchForm(FlaskForm):
    class Meta:
        # WTForms ships Dutch messages ("Ongeldige datum" …); Flask-WTF only
        # uses them through Flask-Babel, which this app does not need.
        locales = ("nl",)

        def get_translations(self, form):  # noqa: ANN001, ANN202
            return DefaultMeta.get_translations(self, form)


class CampaignForm(DutchForm):
    name = StringField(
        "Naam",
        validators=[DataRequired("Vul een naam in."), Length(max=200, message="Gebruik hooguit 200 tekens.")],
    )
    slug = StringField(
        "Korte naam (voor de beheerder)",
        validators=[
            DataRequired("Vul een korte naam in."),
            Regexp(r"^[a-z0-9][a-z0-9-]{0,79}$", message="Alleen kleine letters, cijfers en streepjes."),
        ],
    )
    question_set_id = SelectField("Vragenset", coerce=int, validate_choice=False)
    start_mode = RadioField(
        "Wanneer begint de quiz?",
        choices=[
            SelectChoice(
                "fixed", "Op een vaste datum voor iedereen (wie later bevestigt, begint de werkdag erna)"
            ),
            SelectChoice("rolling", "Voor iedereen de werkdag na het bevestigen van de aanmelding"),
        ],
        validators=[DataRequired("Kies hoe de quiz begint.")],
    )
    start_date = DateField("Startdatum", validators=[Optional()])
    send_time = TimeField(
        "Tijd van de vraag", validators=[DataRequired("Vul een tijd in, bijvoorbeeld 07:30.")]
    )
    followup_time = TimeField(
        "Tijd van de vervolgmail", validators=[DataRequired("Vul een tijd in, bijvoorbeeld 15:00.")]
    )
    skip_dates = TextAreaField("Dagen zonder quiz (niet verplicht)")
    signup_opens_at = DateTimeLocalField(
        "Aanmelden kan vanaf", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    signup_closes_at = DateTimeLocalField(
        "Aanmelden kan tot", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    ends_on = DateField("Laatste dag om te antwoorden (niet verplicht)", validators=[Optional()])
    followups_enabled = BooleanField("Vervolgmails sturen (gespreksvraag en hoe het team antwoordde)")
    reminders_enabled = BooleanField("Herinnering aan een onbeantwoorde vraag in de volgende vraagmail")
    summary_enabled = BooleanField("Slotmail met de uitslag sturen")
    repeats = RadioField(
        "Welke vragen komen terug na de quizweek?",
        choices=[
            SelectChoice("none", "Geen herhaalvragen"),
            SelectChoice("wrong", "Alleen vragen die fout of niet beantwoord zijn"),
            SelectChoice("all", "Alle vragen"),
        ],
        validators=[DataRequired("Kies welke vragen terugkomen.")],
    )
    repeat_interval_days = IntegerField(
        "Werkdagen tot de herhaalvragen",
        validators=[
            InputRequired("Vul een aantal werkdagen in, bijvoorbeeld 7."),
            NumberRange(1, 60, "Kies een aantal werkdagen van 1 tot en met 60."),
        ],
    )
    repeat_max = IntegerField(
        "Hoe vaak een vraag hooguit terugkomt",
        validators=[
            InputRequired("Vul in hoe vaak een vraag terugkomt, bijvoorbeeld 2."),
            NumberRange(1, 5, "Kies een aantal van 1 tot en met 5."),
        ],
    )
    certificates_enabled = BooleanField(
        "Deelnamebewijs: deelnemers kunnen na de quiz een pdf downloaden, met een controlecode"
    )

    parsed_skip_dates: list[str]

    def validate(self, extra_validators=None) -> bool:  # noqa: ANN001
        valid = super().validate(extra_validators)
        # Optional() ends the field's own checks when it is empty, so this
        # rule, which depends on another field, is checked here.
        if self.start_mode.data == "fixed" and self.start_date.data is None and not self.start_date.errors:
            self.start_date.errors = ["Een vaste start heeft een startdatum nodig."]
            valid = False
        return valid

    def validate_skip_dates(self, field: TextAreaField) -> None:
        days: set[str] = set()
        for line in (field.data or "").replace(",", "\n").splitlines():
            text = line.strip()
            if not text:
                continue
            day = parse_day(text)
            if day is None:
                raise ValidationError(
                    f"“{text[:40]}” is geen datum. Schrijf één datum per regel, zoals 2026-12-24."
                )
            days.add(day.isoformat())
        self.parsed_skip_dates = sorted(days)

    def validate_signup_closes_at(self, field: DateTimeLocalField) -> None:
        opens = self.signup_opens_at.data
        if field.data is not None and opens is not None and field.data <= opens:
            raise ValidationError("Het einde van de aanmelding moet na het begin liggen.")


def parse_day(text: str) -> date | None:
    """2026-12-24 or 24-12-2026 (the Dutch order); None when it is no date."""
    match = DATE_LINE.fullmatch(text)
    if not match:
        return None
    year, month, day = (
        (match.group(1), match.group(2), match.group(3))
        if match.group(1)
        else (match.group(6), match.group(5), match.group(4))
    )
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def set_choices(form: CampaignForm, session: Session) -> None:
    sets = session.scalars(select(QuestionSet).order_by(QuestionSet.slug, QuestionSet.version.desc())).all()
    form.question_set_id.choices = [
        SelectChoice(qs.id, f"{qs.title} ({qs.slug}, versie {qs.version})") for qs in sets
    ]


def fill_form(form: CampaignForm, campaign: Campaign) -> None:
    """The campaign's settings into an unposted form (local times)."""
    zone = ZoneInfo(campaign.timezone)
    form.name.data = campaign.name
    form.slug.data = campaign.slug
    form.question_set_id.data = campaign.question_set_id
    form.start_mode.data = campaign.start_mode
    form.start_date.data = campaign.start_date
    form.send_time.data = campaign.send_time
    form.followup_time.data = campaign.followup_time
    form.skip_dates.data = "\n".join(campaign.skip_dates or [])
    for name in ("signup_opens_at", "signup_closes_at"):
        value = getattr(campaign, name)
        getattr(form, name).data = value.astimezone(zone).replace(tzinfo=None) if value else None
    form.ends_on.data = campaign.ends_on
    form.followups_enabled.data = campaign.followups_enabled
    form.reminders_enabled.data = campaign.reminders_enabled
    form.summary_enabled.data = campaign.summary_enabled
    form.certificates_enabled.data = campaign.certificates_enabled
    form.repeats.data = campaign.repeats
    form.repeat_interval_days.data = campaign.repeat_interval_days
    form.repeat_max.data = campaign.repeat_max


def _aware(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    return value.replace(tzinfo=zone) if value is not None else None


def set_change_problem(session: Session, campaign: Campaign, new_set_id: int | None) -> str | None:
    """Once question emails went out, a campaign may move to another version of
    its set, never to another set: the answers would no longer fit the questions."""
    if campaign.id is None or new_set_id == campaign.question_set_id or campaign.question_set is None:
        return None
    new_set = session.get(QuestionSet, new_set_id) if new_set_id else None
    if new_set is not None and new_set.slug == campaign.question_set.slug:
        return None
    started = session.scalar(
        select(Delivery.id)
        .join(Participant, Participant.id == Delivery.participant_id)
        .where(Participant.campaign_id == campaign.id, Delivery.kind == "question", Delivery.status == "sent")
        .limit(1)
    )
    if started is None:
        return None
    return "De quiz is al begonnen: je kunt alleen nog een andere versie van dezelfde vragenset kiezen."


def apply_form(form: CampaignForm, campaign: Campaign) -> None:
    """The validated form onto the campaign (not committed)."""
    zone = ZoneInfo(campaign.timezone or "Europe/Amsterdam")
    campaign.name = (form.name.data or "").strip()
    campaign.slug = form.slug.data or campaign.slug
    campaign.question_set_id = form.question_set_id.data or None
    campaign.start_mode = form.start_mode.data or "rolling"
    campaign.start_date = form.start_date.data if campaign.start_mode == "fixed" else None
    campaign.send_time = form.send_time.data
    campaign.followup_time = form.followup_time.data
    campaign.skip_dates = form.parsed_skip_dates
    campaign.signup_opens_at = _aware(form.signup_opens_at.data, zone)
    campaign.signup_closes_at = _aware(form.signup_closes_at.data, zone)
    campaign.ends_on = form.ends_on.data
    campaign.followups_enabled = bool(form.followups_enabled.data)
    campaign.reminders_enabled = bool(form.reminders_enabled.data)
    campaign.summary_enabled = bool(form.summary_enabled.data)
    campaign.certificates_enabled = bool(form.certificates_enabled.data)
    campaign.repeats = form.repeats.data or "none"
    campaign.repeat_interval_days = form.repeat_interval_days.data
    campaign.repeat_max = form.repeat_max.data
