"""Validation of question-set files: every problem, with its file, line and column.

Each broken file in tests/data/questions/ lists the problems it must produce
in `# expect: LINE:COL: message` comments at its end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quiz.questionsets import validate_bytes, validate_text

DATA = Path(__file__).parent / "data" / "questions"
BROKEN = sorted(DATA.glob("*.toml"))
SHIPPED = Path(__file__).parent.parent / "questions" / "meldcode.toml"


def expected_problems(path: Path) -> list[str]:
    prefix = "# expect: "
    lines = path.read_text("utf-8").splitlines()
    return [line.removeprefix(prefix) for line in lines if line.startswith(prefix)]


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_file_reports_every_problem_with_its_line(path: Path) -> None:
    expected = expected_problems(path)
    assert expected, f"{path.name} lists no '# expect:' lines"
    result = validate_bytes(path.read_bytes(), path.name)
    assert result.data is None
    assert [f"{p.line}:{p.col}: {p.message}" for p in result.problems] == expected
    assert all(str(p).startswith(f"{path.name}:{p.line}:{p.col}: ") for p in result.problems)


def test_problems_carry_a_field_path_and_a_dutch_message() -> None:
    result = validate_bytes((DATA / "two_correct.toml").read_bytes(), "two_correct.toml")
    [problem] = result.problems
    assert problem.path == "questions[0].options[2].correct"
    assert problem.code == "several_correct"
    assert problem.message_nl == (
        "Vraag 1, antwoord 3: antwoord C is ook als goed gemarkeerd, "
        "maar antwoord A al; markeer er precies één"
    )


def test_missing_field_points_at_the_table_that_lacks_it() -> None:
    result = validate_bytes((DATA / "missing_field.toml").read_bytes(), "missing_field.toml")
    assert [(p.path, p.params.get("field")) for p in result.problems] == [
        ("", "sector_notice"),
        ("questions[0]", "explanation"),
        ("questions[0].options[0]", "text"),
    ]
    assert result.problems[1].message_nl == "Vraag 1: het veld 'explanation' ontbreekt"


def test_valid_file_gives_data_and_no_problems() -> None:
    result = validate_text(SHIPPED.read_text("utf-8"), "meldcode.toml")
    assert result.problems == []
    assert result.data is not None
    assert [q.day for q in result.data.questions] == [1, 2, 3, 4, 5]


def test_texts_are_stripped_and_optional_fields_default() -> None:
    text = '''
slug = "kort"
title = "  Kort  "
sector_notice = """
Check je eigen sector.
"""

[[questions]]
day = 1
title = "Vraag"
body = "Wat doe je?"
explanation = "Uitleg."
discussion_prompt = "Bespreek."
options = [{ label = "A", text = "Dit", correct = true, feedback = "" }, { label = "B", text = "Dat" }]
'''
    data = validate_text(text).data
    assert data is not None
    assert (data.title, data.sector_notice) == ("Kort", "Check je eigen sector.")
    assert (data.language, data.intro) == ("nl", "")
    question = data.questions[0]
    assert question.meldcode_step is None
    assert question.sources == ()
    options = [(o.label, o.correct, o.feedback) for o in question.options]
    assert options == [("A", True, None), ("B", False, None)]


def test_a_file_that_is_not_utf8_is_a_problem_not_a_crash() -> None:
    result = validate_bytes('slug = "x"\ntitle = "caf\u00e9"\n'.encode("latin-1"), "latin1.toml")
    assert [str(p) for p in result.problems] == ["latin1.toml:2:1: the file is not UTF-8 text"]


def test_byte_order_mark_is_accepted() -> None:
    result = validate_bytes(b"\xef\xbb\xbf" + SHIPPED.read_bytes(), "bom.toml")
    assert result.problems == []


def test_windows_line_ends_give_the_same_lines() -> None:
    content = (DATA / "tricky_strings.toml").read_bytes().replace(b"\n", b"\r\n")
    result = validate_bytes(content, "crlf.toml")
    assert [f"{p.line}:{p.col}: {p.message}" for p in result.problems] == expected_problems(
        DATA / "tricky_strings.toml"
    )


def test_invisible_control_characters_are_refused() -> None:
    text = (DATA / "two_correct.toml").read_text("utf-8").replace('text = "Zus"', 'text = "Z\\u0000us"')
    problems = [p for p in validate_text(text, "nul.toml").problems if p.code == "control_char"]
    assert [str(p) for p in problems] == [
        "nul.toml:23:1: question 1, option 3: 'text' contains an invisible control character (U+0000); "
        "retype the text around it"
    ]


def test_readme_example_is_a_valid_set() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    section = readme.split("## Question sets", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    result = validate_text(example, "README.md")
    assert result.problems == []
    assert result.warnings == []
    assert result.data is not None
    assert result.data.questions[0].meldcode_step == 1
    assert result.data.questions[0].options[0].feedback


def test_no_single_line_edit_crashes_the_validator() -> None:
    """The organisers' editor feeds it anything: every variant gets problems or data, never an exception."""
    inserts = [
        "[[questions]]\n",
        "[questions]\n",
        'options = [1, "x"]\n',
        "sources = [{title = 1, url = 2}]\n",
    ]
    small = (DATA / "two_correct.toml").read_text("utf-8").splitlines(keepends=True)
    shipped = SHIPPED.read_text("utf-8").splitlines(keepends=True)
    variants = [shipped[:i] + shipped[i + 1 :] for i in range(len(shipped))]
    for i in range(len(small)):
        variants += [small[:i] + small[i + 1 :], small[:i] + [small[i].replace('"', "'", 1)] + small[i + 1 :]]
        variants += [small[:i] + [insert] + small[i:] for insert in inserts]
    for variant in variants:
        result = validate_text("".join(variant), "edited.toml")
        assert (result.data is None) == bool(result.problems)
        assert all(p.line >= 1 and p.col >= 1 and p.message and p.message_nl for p in result.problems)


SOURCES = """
slug = "bronnen"
title = "Bronnen"
sector_notice = "Check de meldcode van je eigen sector."

[[questions]]
day = 1
title = "Vraag"
body = "Wat doe je?"
explanation = "Uitleg."
discussion_prompt = "Bespreek."
options = [{ label = "A", text = "Dit", correct = true }, { label = "B", text = "Dat" }]

[[questions.sources]]
title = "Augeo"
url = "https://www.augeo.nl"

[[questions.sources]]
title = "Augeo met een schuine streep"
url = "https://www.augeo.nl/"

[[questions.sources]]
title = "Augeo – Kindcheck"
url = "https://www.augeo.nl/nl-nl/kindcheck"
"""


def test_a_source_without_a_path_is_a_warning_and_the_file_stays_valid() -> None:
    """A home page as a source makes the reader search for the claim (issue 20, item 4)."""
    result = validate_text(SOURCES, "bronnen.toml")
    assert result.problems == []
    assert result.data is not None and len(result.data.questions[0].sources) == 3
    assert [str(w) for w in result.warnings] == [
        "bronnen.toml:16:1: warning: question 1, source 1: 'https://www.augeo.nl' is a home page; "
        "link the page that supports the claim instead",
        "bronnen.toml:20:1: warning: question 1, source 2: 'https://www.augeo.nl/' is a home page; "
        "link the page that supports the claim instead",
    ]
    assert [w.path for w in result.warnings] == ["questions[0].sources[0].url", "questions[0].sources[1].url"]
    assert result.warnings[0].message_nl == (
        "Vraag 1, bron 1: 'https://www.augeo.nl' is een startpagina; "
        "link liever naar de pagina waar de informatie staat"
    )


def test_warnings_are_kept_when_a_file_also_has_errors() -> None:
    result = validate_text(SOURCES.replace('correct = true', 'correct = false'), "bronnen.toml")
    assert result.data is None
    assert [p.code for p in result.problems] == ["no_correct"]
    assert [w.code for w in result.warnings] == ["source_url_no_path", "source_url_no_path"]
