"""Question sets in the database: import (all or nothing) and the refusal rules.

A file from disk (`quiz questions import`, which `make run` calls at every
start) never overwrites what is stored: `import_file` adds a set that is
missing, or a new version when asked, and otherwise leaves the database as it
is, because organisers edit sets in /admin and those edits must survive a
restart.

The editor in /admin saves through `import_set`, which updates the newest
version in place. Once participants have answered questions of that
version, an update may fix texts, but not
change what recorded answers mean: no removed or moved questions, no removed
or reordered options, no different correct option. Those changes go into a
new version (`--new-version`); campaigns keep the version they point at.

Within a question, options are identified by their label, and questions by
their day (with the title to notice a question that moved to another day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quiz.models import Answer, Option, Question, QuestionSet
from quiz.questionsets.schema import OptionData, QuestionData, QuestionSetData, SourceData


@dataclass(frozen=True)
class ImportResult:
    question_set: QuestionSet
    # "created" (first version), "new_version", "updated" or "unchanged"
    action: str


@dataclass(frozen=True)
class FileImport:
    """What `import_file` did: "created" (the slug was missing), "new_version",
    "present" (the newest version equals the file) or "kept" (the newest
    version differs from the file and was left as it is)."""

    question_set: QuestionSet
    action: str


class ImportRefused(Exception):
    """The update would change the meaning of answers already recorded."""

    def __init__(self, slug: str, version: int, answers: int, reasons: list[str]) -> None:
        self.slug, self.version, self.answers, self.reasons = slug, version, answers, reasons
        super().__init__(self.explain())

    def explain(self) -> str:
        lines = [
            f"Refused: {self.answers} answer(s) are recorded for {self.slug!r} version {self.version}, "
            "and this import would change what they mean:",
            *(f"  - {reason}" for reason in self.reasons),
            "Nothing was changed. Text fixes are fine; for these changes publish a new version:",
            "  flask --app wsgi quiz questions import FILE --new-version",
            f"Campaigns that use version {self.version} keep it; point a campaign at the new version "
            "to use it there.",
        ]
        return "\n".join(lines)


def latest_version(session: Session, slug: str, *, lock: bool = False) -> QuestionSet | None:
    """The newest version of the set with this slug."""
    query = select(QuestionSet).where(QuestionSet.slug == slug).order_by(QuestionSet.version.desc()).limit(1)
    if lock:
        # On PostgreSQL two imports of the same slug wait for each other.
        query = query.with_for_update()
    return session.scalar(query)


def answer_count(session: Session, question_set: QuestionSet) -> int:
    query = (
        select(func.count(Answer.id))
        .join(Question, Answer.question_id == Question.id)
        .where(Question.question_set_id == question_set.id)
    )
    return session.scalar(query) or 0


def data_from_model(question_set: QuestionSet) -> QuestionSetData:
    """The file-format view of a stored set (what export writes)."""
    return QuestionSetData(
        slug=question_set.slug,
        title=question_set.title,
        language=question_set.language,
        intro=question_set.intro,
        sector_notice=question_set.sector_notice,
        questions=tuple(
            QuestionData(
                day=q.position,
                title=q.title,
                body=q.body,
                explanation=q.explanation,
                discussion_prompt=q.discussion_prompt,
                meldcode_step=q.meldcode_step,
                options=tuple(OptionData(o.label, o.text, o.is_correct, o.feedback) for o in q.options),
                sources=tuple(SourceData(s["title"], s["url"]) for s in q.sources or []),
            )
            for q in question_set.questions
        ),
    )


def refusal_reasons(old: QuestionSetData, new: QuestionSetData) -> list[str]:
    """What in `new` would change the meaning of answers given to `old`."""
    reasons: list[str] = []
    new_by_day = {q.day: q for q in new.questions}
    new_day_of_title = {q.title: q.day for q in new.questions}
    for q in old.questions:
        replacement = new_by_day.get(q.day)
        if replacement is None:
            reasons.append(f"day {q.day} ({q.title!r}) would be removed")
            continue
        moved_to = new_day_of_title.get(q.title)
        if replacement.title != q.title and moved_to is not None:
            reasons.append(f"question {q.title!r} would move from day {q.day} to day {moved_to}")
        old_labels = [o.label for o in q.options]
        new_labels = [o.label for o in replacement.options]
        missing = [label for label in old_labels if label not in new_labels]
        if missing:
            reasons.append(f"day {q.day}: option(s) {', '.join(missing)} would be removed")
        elif new_labels[: len(old_labels)] != old_labels:
            reasons.append(
                f"day {q.day}: options would be reordered ({', '.join(old_labels)} → {', '.join(new_labels)})"
            )
        old_correct = next((o.label for o in q.options if o.correct), None)
        new_correct = next((o.label for o in replacement.options if o.correct), None)
        if old_correct != new_correct:
            reasons.append(
                f"day {q.day}: the correct option would change from {old_correct} to {new_correct}"
            )
    return reasons


def import_set(
    session: Session, data: QuestionSetData, now: datetime, *, new_version: bool = False
) -> ImportResult:
    """Store a validated set in one transaction: a new set, a new version, or an update in place.

    Raises ImportRefused (and writes nothing) when an update would change the
    meaning of recorded answers.
    """
    try:
        result = _import(session, data, now, new_version)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


def import_file(
    session: Session, data: QuestionSetData, now: datetime, *, new_version: bool = False
) -> FileImport:
    """Store a set read from a file only when its slug is missing, or as a new version.

    Without `new_version` a stored set is never changed, whatever the file
    says: the database may hold edits made in /admin, and answers given to
    it. With `new_version` the file becomes version N+1, unless the newest
    version already equals it (importing twice does not make two copies).
    """
    try:
        latest = latest_version(session, data.slug, lock=True)
        if latest is not None and data_from_model(latest) == data:
            result = FileImport(latest, "present")
        elif latest is not None and not new_version:
            result = FileImport(latest, "kept")
        else:
            stored = _import(session, data, now, new_version=latest is not None)
            result = FileImport(stored.question_set, stored.action)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


def _import(session: Session, data: QuestionSetData, now: datetime, new_version: bool) -> ImportResult:
    latest = latest_version(session, data.slug, lock=True)
    if latest is None or new_version:
        version = 1 if latest is None else latest.version + 1
        question_set = QuestionSet(slug=data.slug, version=version, created_at=now, updated_at=now)
        session.add(question_set)
        _apply(session, question_set, data, now)
        return ImportResult(question_set, "created" if latest is None else "new_version")
    current = data_from_model(latest)
    if current == data:
        return ImportResult(latest, "unchanged")
    answers = answer_count(session, latest)
    if answers:
        reasons = refusal_reasons(current, data)
        if reasons:
            raise ImportRefused(latest.slug, latest.version, answers, reasons)
    _apply(session, latest, data, now)
    return ImportResult(latest, "updated")


def _apply(session: Session, question_set: QuestionSet, data: QuestionSetData, now: datetime) -> None:
    """Make the stored set equal to `data`, keeping the rows (and ids) of what stays."""
    question_set.title = data.title
    question_set.language = data.language
    question_set.intro = data.intro
    question_set.sector_notice = data.sector_notice
    question_set.updated_at = now
    by_day = {q.position: q for q in question_set.questions}
    wanted = {q.day for q in data.questions}
    for day, question in by_day.items():
        if day not in wanted:
            question_set.questions.remove(question)
    # Deletes first, so that unique (set, day) and (question, label) keys are free again.
    session.flush()
    for q in data.questions:
        question = by_day.get(q.day)
        if question is None:
            question = Question(position=q.day)
            question_set.questions.append(question)
        question.title = q.title
        question.body = q.body
        question.explanation = q.explanation
        question.discussion_prompt = q.discussion_prompt
        question.meldcode_step = q.meldcode_step
        question.sources = [{"title": s.title, "url": s.url} for s in q.sources]
        _apply_options(session, question, q.options)
    session.flush()


def _apply_options(session: Session, question: Question, options: tuple[OptionData, ...]) -> None:
    by_label = {o.label: o for o in question.options}
    wanted = {o.label for o in options}
    for label, option in by_label.items():
        if label not in wanted:
            question.options.remove(option)
    kept = [by_label[o.label] for o in options if o.label in by_label]
    if any(option.position != i for i, option in zip(_positions(options, by_label), kept, strict=True)):
        # Moving positions one by one could collide on unique (question, position):
        # park the kept options on negative positions first.
        for i, option in enumerate(kept):
            option.position = -1 - i
    session.flush()
    for position, o in enumerate(options, start=1):
        option = by_label.get(o.label)
        if option is None:
            option = Option(label=o.label)
            question.options.append(option)
        option.position = position
        option.text = o.text
        option.is_correct = o.correct
        option.feedback = o.feedback


def _positions(options: tuple[OptionData, ...], by_label: dict[str, Option]) -> list[int]:
    """The new positions (from 1) of the options that already exist."""
    return [i for i, o in enumerate(options, start=1) if o.label in by_label]
