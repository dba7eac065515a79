"""The question editor: edit, add, move and delete a set's questions.

Works without JavaScript: the form always has blank rows for a new answer
and a new source, and the arrow buttons next to an answer post the form back
with the rows swapped (nothing is saved until "Opslaan"). Problems appear
next to their field, in Dutch, as the TOML validator reports them.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from quiz.admin.blueprint import bp
from quiz.admin.editing import QuestionForm, check, form_from_data, form_from_post, padded, renumbered
from quiz.admin.editing import replace_question as with_question
from quiz.admin.questionsets import (
    ORDER_LOCKED,
    editable_set,
    get_set,
    is_latest,
    order_locked,
    placeholder_question,
    save_set,
    saved_message,
)
from quiz.questionsets.store import data_from_model

# The five steps of the meldcode (official names, shortened).
STEPS = {
    "1": "1. Signalen in kaart brengen",
    "2": "2. Overleggen met een collega (en eventueel Veilig Thuis raadplegen)",
    "3": "3. Gesprek met de betrokkene(n)",
    "4": "4. Wegen van het geweld (bij twijfel Veilig Thuis raadplegen)",
    "5": "5. Beslissen: melden en/of zelf hulp bieden of organiseren",
}


def _render(qs, day: int, form: QuestionForm, *, new: bool = False, refusals: list[str] | None = None,
            notice: str | None = None, status: int = 200) -> tuple[str, int]:  # fmt: skip  # noqa: ANN001
    return render_template(
        "admin/question_edit.html",
        qs=qs,
        day=day,
        form=padded(form),
        new=new,
        steps=STEPS,
        refusals=refusals or [],
        notice=notice,
        editable=is_latest(qs),
        # A question not saved yet has no answers to keep: its answers move freely.
        order_locked=not new and order_locked(qs),
        order_locked_reason=ORDER_LOCKED,
    ), status


def _post(qs, day: int, new: bool) -> Response | tuple[str, int]:  # noqa: ANN001
    """Handle the editor's buttons: move an answer, save, or save as a new version."""
    form = form_from_post(request.form)
    move = request.form.get("move", "")
    if move:
        if not new and order_locked(qs):  # a page from before the first answer: say why, move nothing
            return _render(qs, day, form, new=new, notice=ORDER_LOCKED, status=409)
        row, _, direction = move.partition(":")
        if row.isdigit():
            form.move_option(int(row), -1 if direction == "up" else 1)
        return _render(qs, day, form, new=new, notice="Nog niet opgeslagen: druk op Opslaan.")
    data = data_from_model(qs)
    index = day - 1
    changed = with_question(data, index, form.data(day))
    problems = check(changed)
    if problems:
        form.attach(problems, index)
        return _render(qs, day, form, new=new, status=422)
    new_version = request.form.get("action") == "new_version"
    outcome = save_set(changed, new_version=new_version)
    if outcome.question_set is None:
        refusals = outcome.refusals or ["Iemand anders sloeg deze set net op. Probeer het opnieuw."]
        return _render(qs, day, form, new=new, refusals=refusals, status=409)
    flash(saved_message(outcome, new_version), "success")
    return redirect(url_for("admin.question_edit", set_id=outcome.question_set.id, day=day), code=303)


@bp.route("/vragensets/<int:set_id>/vraag/<int:day>", methods=["GET", "POST"])
def question_edit(set_id: int, day: int) -> Response | tuple[str, int]:
    qs = get_set(set_id) if request.method == "GET" else editable_set(set_id)
    data = data_from_model(qs)
    if not 1 <= day <= len(data.questions):
        flash(f"Deze set heeft geen vraag {day}.", "error")
        return redirect(url_for("admin.questionset", set_id=set_id))
    if request.method == "POST":
        return _post(qs, day, new=False)
    return _render(qs, day, form_from_data(data.questions[day - 1]))


@bp.route("/vragensets/<int:set_id>/vraag/nieuw", methods=["GET", "POST"])
def question_new(set_id: int) -> Response | tuple[str, int]:
    qs = editable_set(set_id)
    day = len(qs.questions) + 1
    if request.method == "POST":
        return _post(qs, day, new=True)
    blank = placeholder_question(day)
    form = form_from_data(blank)
    form.title = form.body = form.explanation = form.discussion_prompt = ""
    form.options[0]["text"] = form.options[1]["text"] = ""
    return _render(qs, day, form, new=True)


@bp.route("/vragensets/<int:set_id>/vraag/<int:day>/verplaatsen", methods=["POST"])
def question_move(set_id: int, day: int) -> Response:
    qs = editable_set(set_id)
    data = data_from_model(qs)
    questions = list(data.questions)
    other = day - 2 if request.form.get("direction") == "up" else day
    if not (1 <= day <= len(questions) and 0 <= other < len(questions)):
        return redirect(url_for("admin.questionset", set_id=set_id), code=303)
    questions[day - 1], questions[other] = questions[other], questions[day - 1]
    _save_or_explain(renumbered(data, questions), f"Vraag {day} is nu vraag {other + 1}.")
    return redirect(url_for("admin.questionset", set_id=set_id), code=303)


@bp.route("/vragensets/<int:set_id>/vraag/<int:day>/verwijderen", methods=["GET", "POST"])
def question_delete(set_id: int, day: int) -> Response | str:
    qs = editable_set(set_id)
    data = data_from_model(qs)
    if not 1 <= day <= len(data.questions):
        return redirect(url_for("admin.questionset", set_id=set_id), code=303)
    if request.method == "GET":
        return render_template("admin/question_delete.html", qs=qs, q=data.questions[day - 1])
    if len(data.questions) == 1:
        flash("Een set heeft minstens één vraag. Voeg eerst een andere vraag toe.", "error")
        return redirect(url_for("admin.questionset", set_id=set_id), code=303)
    questions = [q for q in data.questions if q.day != day]
    _save_or_explain(renumbered(data, questions), f"Vraag {day} is verwijderd.")
    return redirect(url_for("admin.questionset", set_id=set_id), code=303)


def _save_or_explain(data, done: str) -> None:  # noqa: ANN001
    outcome = save_set(data)
    if outcome.question_set is not None:
        flash(done, "success")
        return
    reasons = outcome.refusals or ["Iemand anders sloeg deze set net op. Probeer het opnieuw."]
    flash(
        "Niet opgeslagen: er zijn al antwoorden op deze versie, en dit zou hun betekenis veranderen. "
        + " ".join(reasons)
        + " Maak eerst een nieuwe versie (knop hieronder) en pas die aan.",
        "error",
    )
