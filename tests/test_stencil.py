"""The sender's StencilRenderer gives byte for byte what rendering every
message in full gives, whatever the participant's name, and falls back to the
full rendering when a template does more with a personal value than print it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from markupsafe import Markup
from sqlalchemy import select

from quiz.emails import context_for
from quiz.mailer import TEMPLATE_DIR, Envelope, build_message, render_email
from quiz.models import Delivery
from quiz.outbox import enqueue
from quiz.qp import qp_body
from quiz.stencil import StencilRenderer, is_plain, personal
from tests.answer_factories import make_players, make_quiz
from tests.conftest import at

MONDAY = at("2026-11-16 07:30")

HOSTILE_NAMES = [
    "Sanne de Vries",
    "Sanne  de   Vries",  # runs of spaces
    " Sanne ",
    "O'Brien",
    "Zoë-Lynn d'Hondt",
    'Jan "de Baas" Jansen',
    "Ann & Bob",
    "<script>alert(1)</script>",
    "</p><h1>Gratis</h1>",
    "&amp; &lt;b&gt;",
    "a\u00a0b",  # no-break space: css_inline writes it back as &nbsp;
    "tab\tname",
    "new\nline",
    "cr\rname",
    "bell\x07name",  # a control character (PostgreSQL refuses NUL itself)
    "\u202eevil",  # right-to-left override
    "🙂 emoji",
    "x=3D y",  # looks like quoted-printable
    "{{ 7*7 }}",
    "qzslot0n0z",  # looks like a placeholder
    "A" * 200,  # the longest name the column holds
    "",
]


@pytest.fixture
def deliveries(app, session):
    """Question 1 for one participant per hostile name (and one without a name)."""
    campaign, qs = make_quiz(session, MONDAY)
    players = make_players(session, campaign, MONDAY, len(HOSTILE_NAMES) + 1)
    for player, name in zip(players, [*HOSTILE_NAMES, None], strict=True):
        player.name = name
        enqueue(
            session,
            participant_id=player.id,
            kind="question",
            day=1,
            question_id=qs.questions[0].id,
            due_at=MONDAY,
            now=MONDAY,
        )
    session.commit()
    return session.scalars(select(Delivery).order_by(Delivery.id)).all()


def _template_context(delivery):
    """The question email's context as the sender renders it: without the
    envelope's headers (the per-person List-Unsubscribe is not template input)."""
    context = context_for(delivery, MONDAY)
    context.pop("headers")
    return context


def test_same_bytes_as_full_rendering_for_hostile_names(app, deliveries):
    renderer = StencilRenderer()
    with app.app_context():
        # Twice over: the first round fills the cache, the second uses it.
        for second_round in (False, True):
            for delivery in deliveries:
                name = delivery.participant.name
                context = _template_context(delivery)
                hits = renderer.hits
                got, expected = renderer.render("question", context), render_email("question", context)
                assert got == expected, name
                # A filled-in stencil brings the bodies as build_message writes
                # them (from its plans), and they must be those; a full rendering has none.
                stencilled = renderer.hits > hits
                encoded = (qp_body(expected.text), qp_body(expected.html))
                assert got.wire == (encoded if stencilled else None), name
                if second_round:  # the fast path, for every plain name once its shape is cached
                    assert stencilled == is_plain(name or "deelnemer"), name
    plain = sum(1 for d in deliveries if is_plain(d.participant.name or "deelnemer"))
    assert plain >= 8 and renderer.hits >= plain
    assert renderer.full >= 2 * (len(deliveries) - plain)


def test_an_email_with_new_parts_never_goes_out_with_the_old_encoded_bodies(app, deliveries):
    """`wire` is the stencil's encoding of text and HTML: an email cannot get
    other parts behind its back (frozen), and dataclasses.replace makes one
    that build_message encodes anew."""
    renderer = StencilRenderer()
    with app.app_context():
        context = _template_context(deliveries[0])
        renderer.render("question", context)
        filled = renderer.render("question", context)
    assert filled.wire is not None  # from the stencil
    with pytest.raises(dataclasses.FrozenInstanceError):
        filled.html = "<p>Anders</p>\n"  # type: ignore[misc]
    changed = dataclasses.replace(filled, html="<p>Anders</p>\n")
    assert (changed.subject, changed.text, changed.html) == (filled.subject, filled.text, "<p>Anders</p>\n")
    assert changed.wire is None
    envelope = Envelope("a@example.org", None, "<m@quiz.test>")
    message = build_message(changed, envelope, "quiz@quiz.test", MONDAY)
    assert qp_body("<p>Anders</p>\n") in message and filled.wire[1] not in message
    assert filled.wire[0] in message  # the text part, encoded anew: the same bytes


def _template_dir(tmp_path: Path, greeting: str) -> str:
    """The shipped templates, with another greeting line in the HTML part."""
    for source in TEMPLATE_DIR.iterdir():
        (tmp_path / source.name).write_text(source.read_text())
    html = tmp_path / "question.html"
    html.write_text(html.read_text().replace("<p>Hallo {{ greeting_name }},</p>", greeting))
    assert greeting in html.read_text()
    return str(tmp_path)


@pytest.mark.parametrize(
    "greeting",
    [
        "<p>Hallo {{ greeting_name|upper }},</p>",
        "<p>Hallo {{ greeting_name|trim }},</p>",
        "<p>Hallo {{ greeting_name|truncate(12) }},</p>",
        "<p>{% if greeting_name == 'deelnemer' %}Hallo!{% else %}Hallo {{ greeting_name }},{% endif %}</p>",
        "<p>Hallo {{ greeting_name }} ({{ greeting_name|length }}),</p>",
        "<p>Hallo {{ greeting_name[0] }},</p>",
    ],
)
def test_a_template_that_changes_a_personal_value_is_rendered_in_full(app, deliveries, tmp_path, greeting):
    directory = _template_dir(tmp_path, greeting)
    renderer = StencilRenderer(directory)
    with app.app_context():
        for _ in range(2):
            for delivery in deliveries[:3]:
                context = _template_context(delivery)
                assert renderer.render("question", context) == render_email("question", context, directory)
    assert renderer.hits == 0


def test_a_renamed_campaign_shows_its_new_name(app, deliveries, session):
    """The cached shape is keyed on what the templates read, not on the
    campaign row: a new name is a new shape, in all three parts."""
    renderer = StencilRenderer()
    with app.app_context():
        first = renderer.render("question", _template_context(deliveries[0]))
        deliveries[1].participant.campaign.name = "Meldcode Najaar"
        context = _template_context(deliveries[1])
        second = renderer.render("question", context)
    assert second == render_email("question", context)
    assert "Meldcode Najaar" not in first.html + first.text
    assert "Meldcode Najaar" in second.html and "Meldcode Najaar" in second.text
    assert renderer.misses == 2


def _one_line_templates(tmp_path: Path) -> str:
    (tmp_path / "x.subject.txt").write_text("Over {{ v }}")
    (tmp_path / "x.txt").write_text("Hallo {{ name }}, {{ v }}\n")
    (tmp_path / "x.html").write_text("<p>Hallo {{ name }}, {{ v }}</p>\n")
    return str(tmp_path)


@pytest.mark.parametrize(
    ("first", "second"),
    [(1, True), (0, False), ("<b>", Markup("<b>")), ("1", 1), ((1, 2), [1, 2])],
)
def test_values_that_compare_equal_but_print_differently_are_different_shapes(tmp_path, first, second):
    directory = _one_line_templates(tmp_path)
    renderer = StencilRenderer(directory)
    for value, name in [(first, "Ann"), (second, "Bob"), (first, "Cas")]:
        context = {"name": personal(name), "v": value}
        assert renderer.render("x", context) == render_email("x", context, directory)
    assert (renderer.misses, renderer.hits) == (2, 1)


def test_an_object_that_is_not_a_value_gets_the_full_rendering(app, deliveries, tmp_path):
    """An ORM row (or any object that is not a plain value) could read
    differently per message; such a context is rendered in full."""
    directory = _one_line_templates(tmp_path)
    renderer = StencilRenderer(directory)
    for delivery in deliveries[:3]:
        context = {"name": personal("Ann"), "v": delivery.participant}
        assert renderer.render("x", context) == render_email("x", context, directory)
    assert (renderer.hits, renderer.full) == (0, 3)
