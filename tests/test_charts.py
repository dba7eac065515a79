"""Server-rendered SVG bar charts with their text alternative."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from quiz.admin.charts import COLOUR, HIGHLIGHT, Bar, bar_chart, description, number

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def test_a_chart_is_an_image_named_and_described_in_words():
    bars = [Bar("Onderwijs", 120, "120"), Bar("Jeugdhulp", 30, "30")]
    svg = parse(bar_chart("sector", "Deelnemers per sector", bars))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "sector-title sector-desc"
    assert svg.find(f"{SVG}title").text == "Deelnemers per sector"
    assert svg.find(f"{SVG}desc").text == "Onderwijs: 120; Jeugdhulp: 30."


def test_bars_are_proportional_and_the_highlight_stands_out():
    bars = [Bar("A", 50, "50 %"), Bar("B", 25, "25 %", highlight=True), Bar("C", 0, "0 %")]
    svg = parse(bar_chart("q", "Vraag 1", bars, maximum=100))
    filled = [r for r in svg.iter(f"{SVG}rect") if r.get("fill") in (COLOUR, HIGHLIGHT)]
    widths = [float(r.get("width")) for r in filled]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert [r.get("fill") for r in filled] == [COLOUR, HIGHLIGHT, COLOUR]
    assert "B: 25 % (goed antwoord)" in description(bars)


def test_labels_are_escaped_and_long_ones_shortened_but_described_in_full():
    long_label = "<script>alert(1)</script> een heel lang antwoord dat niet past"
    markup = str(bar_chart("x", "Titel & meer", [Bar(long_label, 1, "1")]))
    assert "<script>" not in markup
    svg = parse(markup)
    shown = [t.text for t in svg.iter(f"{SVG}text")]
    assert shown[0].endswith("…") and len(shown[0]) <= 28
    assert svg.find(f"{SVG}desc").text.startswith("<script>alert(1)</script> een heel lang")


def test_an_empty_chart_draws_no_bars_and_divides_by_nothing():
    svg = parse(bar_chart("leeg", "Nog niets", [Bar("A", 0, "0")]))
    assert all(float(r.get("width")) == 0 for r in svg.iter(f"{SVG}rect") if r.get("fill") == COLOUR)
    assert re.fullmatch(r"0 0 \d+ \d+", svg.get("viewBox"))


def test_dutch_numbers():
    assert number(1234567) == "1.234.567"
    assert number(12) == "12"
