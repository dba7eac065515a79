"""Email templates: the CSS is inlined once, when a template loads; every
message is then only Jinja. What the participant's mail program shows is
checked on the rendered parts: styles in place, names as text, the same links
in the text and the HTML part."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest
from jinja2 import TemplateSyntaxError
from sqlalchemy import select

from quiz.delivery import mail_templates
from quiz.delivery.emails import context_for
from quiz.delivery.mail_templates import TEMPLATE_DIR, inline_template_css, render_email
from quiz.delivery.outbox import enqueue
from quiz.models import Delivery
from tests.answer_factories import make_players, make_quiz
from tests.conftest import at

MONDAY = at("2026-11-16 07:30")

HOSTILE_NAMES = [
    "Sanne  de   Vries",
    "O'Brien",
    "Zoë-Lynn d'Hondt",
    'Jan "de Baas" Jansen',
    "Ann & Bob",
    "<script>alert(1)</script>",
    "</p><h1>Gratis</h1>",
    "&amp; &lt;b&gt;",
    "\u202eevil",
    "🙂 emoji",
    "{{ 7*7 }}",
    "qzjinja0z <!--jinja0-->",  # looks like the loader's stand-ins
    "A" * 200,
]


@pytest.fixture
def deliveries(app, session):
    """Question 1 for one participant per hostile name."""
    campaign, qs = make_quiz(session, MONDAY)
    players = make_players(session, campaign, MONDAY, len(HOSTILE_NAMES))
    for player, name in zip(players, HOSTILE_NAMES, strict=True):
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


def _text_of(markup: str) -> str:
    """What a mail program shows of some HTML: the text, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_names_show_as_typed_and_links_agree(app, deliveries):
    with app.app_context():
        for delivery in deliveries:
            name = delivery.participant.name
            email = render_email("question", context_for(delivery, MONDAY))
            greeting = re.search(r"<p[^>]*>Hallo (.*?),</p>", email.html, re.S).group(1)
            assert "<" not in greeting  # no element came from the name
            assert _text_of(greeting) == name
            assert f"Hallo {name}," in email.text
            hrefs = re.findall(r'href="(http://quiz\.test/[^"]+)"', email.html)
            text_links = re.findall(r"http://quiz\.test/\S+", email.text)
            assert hrefs and [html.unescape(h) for h in hrefs] == text_links


def test_the_stylesheet_is_in_the_style_attributes(app, deliveries):
    with app.app_context():
        email = render_email("question", context_for(deliveries[0], MONDAY))
    assert "<style" not in email.html and 'class="option"' in email.html
    option = re.search(r'<a class="option"[^>]*style="([^"]*)"', email.html).group(1)
    assert "border: 2px solid #0b5d8a" in option  # a class rule of the template
    assert re.search(r'<body[^>]*style="[^"]*background: #f3f6f8', email.html)  # the layout's
    # The question's own text (Markdown made into HTML) is styled too.
    question = email.html.split('class="question"', 1)[1].split("</div>", 1)[0]
    assert re.search(r'<p style="margin: 0 0 14px;?">', question)


def test_css_is_inlined_once_per_template_not_per_message(app, deliveries, tmp_path, monkeypatch):
    directory = _copy_templates(tmp_path)
    calls: list[str] = []
    original = mail_templates.inline_template_css

    def counting(source: str, css: str, name: str = "<template>") -> str:
        calls.append(name)
        return original(source, css, name)

    monkeypatch.setattr(mail_templates, "inline_template_css", counting)
    with app.app_context():
        for delivery in deliveries:
            render_email("question", context_for(delivery, MONDAY), directory)
    assert sorted(calls) == ["_footer.html", "_layout.html", "question.html"]


def test_an_edited_template_or_stylesheet_shows_in_the_next_email(tmp_path):
    directory = _one_kind(tmp_path, "<p class='x'>Hallo {{ name }}</p>\n")
    first = render_email("x", {"name": "Ann"}, directory).html
    assert first == '<p class="x" style="color: red;">Hallo Ann</p>\n'
    _touch(tmp_path / "x.html", "<p class='x'>Dag {{ name }}</p>\n")
    assert "Dag Ann" in render_email("x", {"name": "Ann"}, directory).html
    _touch(tmp_path / "email.css", ".x { color: blue }")
    assert 'style="color: blue;"' in render_email("x", {"name": "Ann"}, directory).html


def test_jinja_inside_a_table_title_and_attributes(tmp_path):
    """Loops between table rows stay rows (the HTML parser would move text
    out of a table; the stand-ins are comments), and Jinja in a <title> or an
    attribute value is kept as it was."""
    source = (
        "<!doctype html><html><head><title>{% block t %}Quiz {{ n }}{% endblock %}</title></head><body>\n"
        '<table class="bars">\n{% for r in rows %}\n<tr><td>{{ r }}</td>'
        '{% if r > 1 %}<td class="num">{{ r }}%</td>{% endif %}</tr>\n{% endfor %}\n</table>\n'
        '<a href="{{ url }}?a=1&b={{ n }}" title="{{ n }} > 1">link</a>\n</body></html>\n'
    )
    directory = _one_kind(tmp_path, source, css=".bars td { padding: 4px } .num { text-align: right }")
    page = render_email("x", {"rows": [1, 2], "n": 3, "url": "https://x.test/p"}, directory).html
    assert "<title>Quiz 3</title>" in page
    cells = re.findall(r'<td([^>]*) style="([^"]*)">([^<]*)</td>', page)
    assert [(cls, sorted(style.rstrip(";").split(";")), text) for cls, style, text in cells] == [
        ("", ["padding: 4px"], "1"),
        ("", ["padding: 4px"], "2"),
        (' class="num"', ["padding: 4px", "text-align: right"], "2%"),
    ]
    assert page.index("</table>") > page.index("2%")  # the rows stayed inside the table
    assert '<a href="https://x.test/p?a=1&amp;b=3" title="3 > 1"' in page


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('<p {% if x %}class="a"{% endif %}>x</p>', "in the place of an attribute"),
        ('<p class="{{ kind }}">x</p>', "inside a class attribute"),
        ('<p style="color: {{ c }}">x</p>', "inside a style attribute"),
        ('<a href="{{ a }}" href="{{ b }}">x</a>', "moved or dropped it"),
    ],
)
def test_templates_the_loader_cannot_inline_are_refused_by_name(source, message):
    with pytest.raises(TemplateSyntaxError, match=message) as err:
        inline_template_css(source, ".a { color: red }", "broken.html")
    assert err.value.name == "broken.html"


def test_the_shipped_templates_all_load():
    for path in sorted(TEMPLATE_DIR.glob("*.html")):
        inline_template_css(path.read_text(), (TEMPLATE_DIR / "email.css").read_text(), path.name)


def _copy_templates(tmp_path: Path) -> str:
    for source in TEMPLATE_DIR.iterdir():
        (tmp_path / source.name).write_text(source.read_text())
    return str(tmp_path)


def _one_kind(tmp_path: Path, html_source: str, css: str = ".x { color: red }") -> str:
    (tmp_path / "x.subject.txt").write_text("Onderwerp")
    (tmp_path / "x.txt").write_text("Hallo\n")
    (tmp_path / "x.html").write_text(html_source)
    (tmp_path / "email.css").write_text(css)
    return str(tmp_path)


def _touch(path: Path, content: str) -> None:
    """Write and move the modification time on, as an edit a second later would."""
    before = path.stat().st_mtime
    path.write_text(content)
    os.utime(path, (before + 2, before + 2))
