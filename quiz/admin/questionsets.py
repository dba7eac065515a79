"""Question sets in the browser: list, one set's page, its settings, import
and export of the TOML file, a new set and a new version.

Every change goes through quiz.questionsets.store.import_set, the same code
path as `quiz questions import`: all or nothing, and refused when it would
change what recorded answers mean (then a new version is the way).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from quiz.admin.blueprint import bp
from quiz.admin.editing import check, dutch, refusal_nl
from quiz.db import get_session, utcnow
from quiz.models import Answer, Campaign, Question, QuestionSet
from quiz.questionsets import OptionData, Problem, QuestionData, QuestionSetData, validate_bytes
from quiz.questionsets.export import to_toml
from quiz.questionsets.store import (
    ImportRefused,
    answer_count,
    data_from_model,
    import_set,
    latest_version,
)

MAX_UPLOAD_BYTES = 1_000_000
META_FIELDS = ("title", "intro", "sector_notice")


@dataclass
class SaveOutcome:
    question_set: QuestionSet | None
    refusals: list[str]  # Dutch; empty when saved
    conflict: bool = False  # another save of the same set ran at the same moment


def save_set(data: QuestionSetData, new_version: bool = False) -> SaveOutcome:
    """Store a checked set (all or nothing), or say in Dutch why it was refused."""
    try:
        result = import_set(get_session(), data, utcnow(), new_version=new_version)
    except ImportRefused as exc:
        return SaveOutcome(None, [refusal_nl(r) for r in exc.reasons])
    except IntegrityError:
        return SaveOutcome(None, [], conflict=True)
    return SaveOutcome(result.question_set, [])


def saved_message(outcome: SaveOutcome, new_version: bool) -> str:
    qs = outcome.question_set
    assert qs is not None
    if new_version:
        return (
            f"Opgeslagen als nieuwe versie {qs.version}. Campagnes houden de versie die ze hebben; "
            "kies bij een campagne de nieuwe versie om die te gebruiken."
        )
    return "Opgeslagen."


def get_set(set_id: int) -> QuestionSet:
    question_set = get_session().get(QuestionSet, set_id)
    if question_set is None:
        abort(404)
    return question_set


class ReadOnlyVersion(Exception):
    """An older version of a set: it stays as campaigns used it."""

    def __init__(self, set_id: int) -> None:
        self.set_id = set_id


@bp.errorhandler(ReadOnlyVersion)
def _read_only(exc: ReadOnlyVersion) -> Response:
    flash("Dit is een oudere versie van de set. Alleen de nieuwste versie kun je bewerken.", "error")
    return redirect(url_for("admin.questionset", set_id=exc.set_id), code=303)


def editable_set(set_id: int) -> QuestionSet:
    """The set, if it is the newest version of its slug (older versions are read-only)."""
    question_set = get_set(set_id)
    if not is_latest(question_set):
        raise ReadOnlyVersion(set_id)
    return question_set


def is_latest(question_set: QuestionSet) -> bool:
    latest = latest_version(get_session(), question_set.slug)
    return latest is not None and latest.id == question_set.id


# Why the ↑/↓ buttons are disabled on a set with answers: moving a question or
# an answer would change what the recorded answers mean (store.refusal_reasons).
ORDER_LOCKED = (
    "Verplaatsen kan niet: er zijn al antwoorden op deze versie van de set. "
    "Wil je de volgorde veranderen? Maak dan eerst een nieuwe versie."
)


def order_locked(question_set: QuestionSet, answers: int | None = None) -> bool:
    """Whether reordering this set's questions or answers would be refused."""
    if answers is None:
        answers = answer_count(get_session(), question_set)
    return answers > 0


@bp.route("/")
def index() -> Response:
    return redirect(url_for("admin.campaigns"))


@bp.route("/vragensets")
def questionsets() -> str:
    session = get_session()
    sets = session.scalars(select(QuestionSet).order_by(QuestionSet.slug, QuestionSet.version.desc())).all()
    questions = dict(
        session.execute(
            select(Question.question_set_id, func.count()).group_by(Question.question_set_id)
        ).all()
    )
    answers = dict(
        session.execute(
            select(Question.question_set_id, func.count(Answer.id))
            .join(Answer, Answer.question_id == Question.id)
            .group_by(Question.question_set_id)
        ).all()
    )
    used_by: dict[int, list[str]] = {}
    for set_id, name in session.execute(
        select(Campaign.question_set_id, Campaign.name).where(Campaign.question_set_id.is_not(None))
    ):
        used_by.setdefault(set_id, []).append(name)
    newest: dict[str, int] = {}
    for qs in sets:  # ordered newest version first
        newest.setdefault(qs.slug, qs.version)
    return render_template(
        "admin/questionsets.html",
        sets=sets,
        questions=questions,
        answers=answers,
        used_by=used_by,
        newest=newest,
    )


@bp.route("/vragensets/<int:set_id>")
def questionset(set_id: int) -> str:
    question_set = get_set(set_id)
    session = get_session()
    per_question = dict(
        session.execute(
            select(Answer.question_id, func.count())
            .join(Question, Question.id == Answer.question_id)
            .where(Question.question_set_id == set_id)
            .group_by(Answer.question_id)
        ).all()
    )
    campaigns = session.scalars(select(Campaign).where(Campaign.question_set_id == set_id)).all()
    answers = sum(per_question.values())
    return render_template(
        "admin/questionset.html",
        qs=question_set,
        answers=answers,
        order_locked=order_locked(question_set, answers),
        order_locked_reason=ORDER_LOCKED,
        per_question=per_question,
        campaigns=campaigns,
        editable=is_latest(question_set),
    )


@bp.route("/vragensets/<int:set_id>/instellingen", methods=["GET", "POST"])
def questionset_settings(set_id: int) -> str | Response | tuple[str, int]:
    question_set = editable_set(set_id)
    data = data_from_model(question_set)
    values = {name: getattr(data, name) for name in META_FIELDS}
    errors: dict[str, str] = {}
    refusals: list[str] = []
    if request.method == "POST":
        values = {
            name: request.form.get(name, "")[:5000].replace("\r\n", "\n").strip() for name in META_FIELDS
        }
        changed = dataclasses.replace(data, **values)
        errors = _top_level_errors(check(changed))
        if not errors:
            outcome = save_set(changed)
            if outcome.question_set is not None:
                flash("De instellingen van de set zijn opgeslagen.", "success")
                return redirect(url_for("admin.questionset", set_id=set_id))
            refusals = outcome.refusals or ["Iemand anders sloeg deze set net op. Probeer het opnieuw."]
        status = 422
    else:
        status = 200
    return render_template(
        "admin/questionset_settings.html", qs=question_set, values=values, errors=errors, refusals=refusals
    ), status


def _top_level_errors(problems: list[Problem]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in problems:
        if not problem.path.startswith("questions"):
            errors.setdefault(problem.path or "title", dutch(problem))
    return errors


def placeholder_question(day: int) -> QuestionData:
    """A question that passes validation, for a new set to start from."""
    return QuestionData(
        day=day,
        title="Nieuwe vraag",
        body="Schrijf hier de vraag.",
        explanation="Schrijf hier waarom het goede antwoord goed is.",
        discussion_prompt="Schrijf hier een vraag om met je team te bespreken.",
        meldcode_step=None,
        options=(OptionData("A", "Eerste antwoord", True), OptionData("B", "Tweede antwoord", False)),
        sources=(),
    )


@bp.route("/vragensets/nieuw", methods=["GET", "POST"])
def questionset_new() -> str | Response | tuple[str, int]:
    values = {"slug": "", "title": "", "sector_notice": "", "intro": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {name: request.form.get(name, "")[:5000].strip() for name in values}
        data = QuestionSetData(
            slug=values["slug"],
            title=values["title"],
            language="nl",
            intro=values["intro"],
            sector_notice=values["sector_notice"],
            questions=(placeholder_question(1),),
        )
        errors = _top_level_errors(check(data))
        if not errors and latest_version(get_session(), data.slug) is not None:
            errors["slug"] = "Er is al een set met deze korte naam. Kies een andere."
        if not errors:
            outcome = save_set(data)
            if outcome.question_set is not None:
                flash("De set is gemaakt met één voorbeeldvraag. Pas die aan en voeg vragen toe.", "success")
                return redirect(url_for("admin.questionset", set_id=outcome.question_set.id))
            errors["slug"] = "Er is al een set met deze korte naam. Kies een andere."
        return render_template("admin/questionset_new.html", values=values, errors=errors), 422
    return render_template("admin/questionset_new.html", values=values, errors=errors)


@bp.route("/vragensets/<int:set_id>/nieuwe-versie", methods=["POST"])
def questionset_new_version(set_id: int) -> Response:
    question_set = editable_set(set_id)
    outcome = save_set(data_from_model(question_set), new_version=True)
    if outcome.question_set is None:
        flash("Dat lukte niet: iemand anders sloeg deze set net op. Probeer het opnieuw.", "error")
        return redirect(url_for("admin.questionset", set_id=set_id))
    flash(saved_message(outcome, new_version=True), "success")
    return redirect(url_for("admin.questionset", set_id=outcome.question_set.id))


@bp.route("/vragensets/<int:set_id>/export.toml")
def questionset_export(set_id: int) -> Response:
    question_set = get_set(set_id)
    text = to_toml(
        data_from_model(question_set),
        comment=f"Question set {question_set.slug!r}, version {question_set.version}.\n"
        "Check with: flask --app wsgi quiz questions validate FILE",
    )
    filename = f"{question_set.slug}-v{question_set.version}.toml"
    return Response(
        text.encode("utf-8"),
        mimetype="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/vragensets/importeren", methods=["GET", "POST"])
def questionset_import() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return render_template("admin/questionset_import.html", problems=[], refusals=[], text="")
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        content = upload.stream.read(MAX_UPLOAD_BYTES + 1)
        filename = upload.filename
    else:
        content = request.form.get("text", "").encode("utf-8")
        filename = "geplakte tekst"
    problems: list[Problem] = []
    refusals: list[str] = []
    text = ""
    if not content.strip():
        message = "Kies een bestand of plak de tekst van een vragenset."
        return render_template(
            "admin/questionset_import.html", problems=[], refusals=[], text="", empty=message
        ), 422
    if len(content) > MAX_UPLOAD_BYTES:
        abort(413)
    result = validate_bytes(content, filename)
    if result.data is None:
        problems = result.problems
        return render_template(
            "admin/questionset_import.html", problems=problems, refusals=[], text="", filename=filename
        ), 422
    new_version = request.form.get("new_version") == "1"
    outcome = save_set(result.data, new_version=new_version)
    if outcome.question_set is None:
        refusals = outcome.refusals or ["Iemand anders importeerde deze set net. Probeer het opnieuw."]
        text = content.decode("utf-8").removeprefix("\ufeff")
        return render_template(
            "admin/questionset_import.html", problems=[], refusals=refusals, text=text, filename=filename
        ), 409
    flash(
        saved_message(outcome, new_version) if new_version else f"Geïmporteerd: {filename}.",
        "success",
    )
    return redirect(url_for("admin.questionset", set_id=outcome.question_set.id))
