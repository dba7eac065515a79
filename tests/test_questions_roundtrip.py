"""Export writes TOML that re-imports to an identical set."""

from __future__ import annotations

import string
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from quiz.questionsets import OptionData, QuestionData, QuestionSetData, SourceData, validate_text
from quiz.questionsets.export import to_toml
from quiz.questionsets.richtext import unsafe_links
from quiz.questionsets.schema import LIMITS
from quiz.questionsets.store import data_from_model, import_set, latest_version
from tests.conftest import at
from tests.test_questions_validate import SHIPPED

NOW = at("2026-11-10 09:00")

# Any printable text, line breaks and tabs included: quotes, backslashes,
# runs of quotes, TOML-looking lines, emoji and combining characters.
_chars = st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t\"\\'#[]=")


def texts(limit: int, markdown: bool = False) -> st.SearchStrategy[str]:
    strategy = st.text(_chars, min_size=1, max_size=min(limit, 120)).map(str.strip).filter(bool)
    if markdown:
        strategy = strategy.filter(lambda t: not unsafe_links(t))
    return strategy


urls = st.builds(
    "https://{}.{}/{}".format,
    st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20),
    st.sampled_from(["nl", "org", "com"]),
    st.text(string.ascii_letters + string.digits + "-_/?=&%.~", max_size=40),
)


@st.composite
def options(draw: st.DrawFn) -> tuple[OptionData, ...]:
    labels = draw(
        st.lists(st.from_regex(r"[A-Z0-9]{1,2}", fullmatch=True), min_size=2, max_size=5, unique=True)
    )
    correct = draw(st.integers(0, len(labels) - 1))
    return tuple(
        OptionData(
            label=label,
            text=draw(texts(LIMITS["text"])),
            correct=i == correct,
            feedback=draw(st.none() | texts(LIMITS["feedback"])),
        )
        for i, label in enumerate(labels)
    )


@st.composite
def question_sets(draw: st.DrawFn) -> QuestionSetData:
    days = draw(st.integers(1, 6))
    questions = tuple(
        QuestionData(
            day=day,
            title=draw(texts(LIMITS["title"])),
            body=draw(texts(LIMITS["body"], markdown=True)),
            explanation=draw(texts(LIMITS["explanation"], markdown=True)),
            discussion_prompt=draw(texts(LIMITS["discussion_prompt"], markdown=True)),
            meldcode_step=draw(st.none() | st.integers(1, 5)),
            options=draw(options()),
            sources=tuple(
                draw(st.lists(st.builds(SourceData, texts(LIMITS["source_title"]), urls), max_size=3))
            ),
        )
        for day in range(1, days + 1)
    )
    return QuestionSetData(
        slug=draw(st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,2}", fullmatch=True)),
        title=draw(texts(LIMITS["set_title"])),
        language=draw(st.sampled_from(["nl", "en"])),
        intro=draw(st.just("") | texts(LIMITS["intro"])),
        sector_notice=draw(texts(LIMITS["sector_notice"])),
        questions=questions,
    )


@settings(max_examples=150, deadline=None)
@given(question_sets())
def test_exported_toml_reads_back_identically(data: QuestionSetData) -> None:
    text = to_toml(data, comment="Export\nmet twee regels")
    result = validate_text(text, "export.toml")
    assert result.problems == []
    assert result.data == data


_slugs = count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=question_sets())
def test_database_round_trip(session: Session, data: QuestionSetData) -> None:
    """File → database → file → database gives the same set, and the second import is a no-op."""
    data = QuestionSetData(**{**data.__dict__, "slug": f"{data.slug}-{next(_slugs)}"})
    import_set(session, data, NOW)
    exported = to_toml(data_from_model(latest_version(session, data.slug)))
    reread = validate_text(exported).data
    assert reread == data
    assert import_set(session, reread, NOW).action == "unchanged"


def test_shipped_set_round_trips_through_the_database(session: Session) -> None:
    original = validate_text(SHIPPED.read_text("utf-8")).data
    assert original is not None
    import_set(session, original, NOW)
    exported = to_toml(data_from_model(latest_version(session, "meldcode")))
    assert validate_text(exported).data == original
    # Multi-line texts stay multi-line, so the export is still pleasant to edit.
    assert 'body = """\nJe werkt met volwassen cliënten.' in exported
