"""The feedback page cache (quiz/feedback_page.py): a cached shape must give
exactly what rendering the page in full gives, for every person."""

from __future__ import annotations

from markupsafe import escape

from quiz.feedback_page import FeedbackPages


def page(manage_url: str, token: str) -> str:
    return f'<a href="{escape(manage_url)}">Mijn quiz</a><form action="/besproken/{escape(token)}"></form>'


def test_a_shape_is_filled_with_each_persons_links():
    pages, calls = FeedbackPages(), []

    def render(manage_url: str, token: str) -> str:
        calls.append(manage_url)
        return page(manage_url, token)

    first = pages.render("q1-B", render, "https://quiz.example/mijn-quiz/AAA.b-1", "tok.1")
    second = pages.render("q1-B", render, "https://quiz.example/mijn-quiz/CCC.d_2", "tok.2")
    assert first == page("https://quiz.example/mijn-quiz/AAA.b-1", "tok.1")
    assert second == page("https://quiz.example/mijn-quiz/CCC.d_2", "tok.2")
    # Rendered twice for the first person (full + shape), not at all for the second.
    assert len(calls) == 2


def test_links_that_escaping_would_change_are_rendered_in_full():
    pages = FeedbackPages()
    odd = "https://quiz.example/mijn-quiz/a?x=1&y=2"
    assert pages.render("k", page, odd, "t") == page(odd, "t")
    assert "&amp;" in pages.render("k", page, odd, "t")


def test_a_template_that_changes_a_link_is_never_served_from_the_cache():
    def shouting(manage_url: str, token: str) -> str:
        return page(manage_url.upper(), token)

    pages = FeedbackPages()
    for url in ("https://q.example/mijn-quiz/abc", "https://q.example/mijn-quiz/xyz"):
        assert pages.render("k", shouting, url, "t") == shouting(url, "t")


def test_old_shapes_make_way_for_new_ones():
    pages = FeedbackPages(entries=2)
    for key in range(5):
        url = f"https://q.example/m/{key}"
        assert pages.render(key, page, url, "t") == page(url, "t")
    assert len(pages._shapes) == 2
