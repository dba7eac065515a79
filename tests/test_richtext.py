"""The Markdown subset: what organisers may write, and what can never get through."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from quiz.questionsets.richtext import is_safe_url, to_html, to_text, unsafe_links


def test_subset_renders_paragraphs_emphasis_lists_and_links() -> None:
    md = (
        "Een *collega* belt **Veilig Thuis**.\n\n"
        "- eerst [advies](https://veiligthuis.nl)\n- dan overleg\n\n"
        "1. stap een\n2. stap twee\n\n"
        "Mail [ons](mailto:quiz@example.org)."
    )
    html = to_html(md)
    assert isinstance(html, Markup)
    assert html == (
        "<p>Een <em>collega</em> belt <strong>Veilig Thuis</strong>.</p>\n"
        '<ul>\n<li>eerst <a href="https://veiligthuis.nl">advies</a></li>\n<li>dan overleg</li>\n</ul>\n'
        "<ol>\n<li>stap een</li>\n<li>stap twee</li>\n</ol>\n"
        '<p>Mail <a href="mailto:quiz@example.org">ons</a>.</p>'
    )


def test_plain_text_drops_markers_and_spells_out_links() -> None:
    md = (
        "Een *collega* belt **Veilig Thuis**.\n\n"
        "- eerst [advies](https://veiligthuis.nl)\n- dan overleg\n\n"
        "1. stap een\n2. stap twee\n\n"
        "Mail [ons](mailto:quiz@example.org) of zie https://nji.nl."
    )
    assert to_text(md) == (
        "Een collega belt Veilig Thuis.\n\n"
        "- eerst advies (https://veiligthuis.nl)\n- dan overleg\n\n"
        "1. stap een\n2. stap twee\n\n"
        "Mail ons (quiz@example.org) of zie https://nji.nl."
    )


def test_link_whose_text_is_the_url_is_not_repeated_in_plain_text() -> None:
    assert to_text("[https://www.augeo.nl](https://www.augeo.nl)") == "https://www.augeo.nl"


@pytest.mark.parametrize(
    ("md", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("<img src=x onerror=alert(1)>", "<img"),
        ('<a href="https://x.nl">x</a>', "<a "),
        ("<div>\nblok\n</div>", "<div"),
        ("[klik](javascript:alert(1))", "href"),
        ("[klik](JaVaScRiPt:alert(1))", "href"),
        ("[klik](  javascript:alert(1))", "href"),
        ("[klik](data:text/html;base64,PHNjcmlwdD4=)", "href"),
        ("[klik](vbscript:msgbox)", "href"),
        ("[klik](/relatief)", "href"),
        ("<javascript:alert(1)>", "href"),
        ("![plaatje](https://x.nl/p.png)", "<img"),
        ("# Kop", "<h1"),
        ("`code`", "<code"),
    ],
)
def test_html_cannot_get_through(md: str, forbidden: str) -> None:
    html = to_html(md)
    assert forbidden not in html.lower()


def test_raw_html_is_shown_as_text() -> None:
    assert to_html("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_link_text_and_url_are_escaped() -> None:
    html = to_html('[a "b" <c>](https://x.nl/?q="><script>)')
    assert "<script>" not in html
    assert "&lt;c&gt;" in html


def test_unsafe_links_names_every_refused_target() -> None:
    md = "[a](https://ok.nl) [b](javascript:alert(1)) [c](/pad) [d](mailto:x@y.nl) [e](ftp://x.nl)"
    assert unsafe_links(md) == ["javascript:alert(1)", "/pad", "ftp://x.nl"]


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://www.nji.nl/kindermishandeling", True),
        ("http://example.org", True),
        ("mailto:quiz@example.org", True),
        ("HTTPS://EXAMPLE.ORG", True),
        ("https://", False),
        ("mailto:", False),
        ("javascript:alert(1)", False),
        ("//example.org/pad", False),
        ("www.example.org", False),
        ("", False),
    ],
)
def test_is_safe_url(url: str, safe: bool) -> None:
    assert is_safe_url(url) is safe


def test_empty_text() -> None:
    assert to_html("") == ""
    assert to_text("") == ""
