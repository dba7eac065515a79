"""CSV export of a campaign's participants and answers.

- UTF-8 with a byte-order mark, so Excel opens names like "Zoë" intact.
- Comma-separated by default; `?sep=puntkomma` gives semicolons, which a
  Dutch Excel (where the comma is the decimal separator) splits into columns
  on a double-click.
- Participants: only those who gave consent, never erased ones. Answers: the
  same participants, identified by their participant number only.
- Sectors and statuses by their Dutch names; times in the campaign's zone
  as YYYY-MM-DD HH:MM, which a spreadsheet reads as a date and sorts.
- A cell that starts with = + - @ is prefixed with ' so that a spreadsheet
  never runs it as a formula (CSV injection through a name or organisation).
- Streamed in chunks: 100,000 rows never sit in memory at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, request, stream_with_context
from sqlalchemy import select

from quiz.admin.blueprint import bp
from quiz.admin.campaigns import get_campaign
from quiz.db import get_session
from quiz.models import SECTORS, Answer, Option, Participant, Question
from quiz.names import participant_status_name

BOM = "\ufeff"
CHUNK = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def delimiter() -> str:
    return ";" if request.args.get("sep") in ("puntkomma", ";", "semicolon") else ","


def cell(value: object, tz: ZoneInfo) -> str:
    """One value as text: local times, Dutch yes/no, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_rows(header: list[str], rows: Iterable[Iterable[object]], sep: str, tz: ZoneInfo) -> Iterator[str]:
    """The CSV text in pieces of CHUNK rows, starting with the byte-order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow([cell(v, tz) for v in row])
        if n % CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _download(name: str, body: Iterator[str]) -> Response:
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def exported_participants(campaign_id: int):  # noqa: ANN201 - SQL expression
    """Participants that may be exported: consent given, not erased."""
    return (
        Participant.campaign_id == campaign_id,
        Participant.consent_at.is_not(None),
        Participant.status != "erased",
        Participant.email.is_not(None),
    )


@bp.route("/campagnes/<int:campaign_id>/deelnemers.csv")
def export_participants(campaign_id: int) -> Response:
    campaign = get_campaign(campaign_id)
    tz = ZoneInfo(campaign.timezone)
    query = (
        select(
            Participant.id,
            Participant.email,
            Participant.name,
            Participant.organisation,
            Participant.sector,
            Participant.role,
            Participant.status,
            Participant.created_at,
            Participant.confirmed_at,
            Participant.consent_at,
            Participant.consent_version,
            Participant.first_quiz_day,
        )
        .where(*exported_participants(campaign.id))
        .order_by(Participant.id)
        .execution_options(yield_per=CHUNK)
    )
    header = [
        "deelnemer", "e-mailadres", "naam", "organisatie", "sector", "functie", "status",
        "aangemeld", "bevestigd", "toestemming", "versie toestemming", "eerste quizdag",
    ]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for row in get_session().execute(query):
            values = list(row)
            values[4] = SECTORS.get(values[4] or "", values[4])
            values[6] = participant_status_name(values[6])
            yield values

    return _download(f"{campaign.slug}-deelnemers.csv", csv_rows(header, rows(), delimiter(), tz))


@bp.route("/campagnes/<int:campaign_id>/antwoorden.csv")
def export_answers(campaign_id: int) -> Response:
    campaign = get_campaign(campaign_id)
    tz = ZoneInfo(campaign.timezone)
    query = (
        select(
            Answer.participant_id,
            Participant.organisation,
            Participant.sector,
            Question.position,
            Question.title,
            Option.label,
            Option.is_correct,
            Answer.answered_at,
            Answer.discussed_at,
        )
        .join(Participant, Participant.id == Answer.participant_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Option, Option.id == Answer.option_id)
        .where(*exported_participants(campaign.id))
        .order_by(Answer.participant_id, Question.position)
        .execution_options(yield_per=CHUNK)
    )
    header = [
        "deelnemer", "organisatie", "sector", "dag", "vraag", "antwoord", "goed",
        "beantwoord", "besproken",
    ]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for row in get_session().execute(query):
            values = list(row)
            values[2] = SECTORS.get(values[2] or "", values[2])
            yield values

    return _download(f"{campaign.slug}-antwoorden.csv", csv_rows(header, rows(), delimiter(), tz))
