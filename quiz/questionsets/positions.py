"""Where each key of a question-set file sits: field path → line and column.

tomllib reports positions for syntax errors only. For schema errors we scan
the source ourselves. We chose this over a position-keeping parser because
tomlkit (the well-kept round-tripping TOML library) keeps formatting but has
no public line/column API either, and once tomllib has accepted the syntax a
small scanner only has to follow table headers, `key =` lines, strings and
brackets. Keys inside inline tables or arrays are not tracked: a problem
there is reported at the nearest enclosing key, which is still the right
line or close to it.

Paths use the notation of the validator: `questions[2].options[1].text`
(indices count from 0).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

_KEY = re.compile(
    r'((?:[A-Za-z0-9_-]+|"[^"\n]*"|\'[^\'\n]*\')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"\n]*"|\'[^\'\n]*\'))*)\s*='
)
_HEADER = re.compile(r"(\[\[?)\s*([^\]\n]+?)\s*\]\]?")
_PARENT = re.compile(r"(\.[^.\[\]]+|\[\d+\])$")


def _key_parts(dotted: str) -> list[str]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', dotted)
    return [a or b or c for a, b, c in parts]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based
    offset: int  # index into the source text


@dataclass
class KeyPositions:
    """Positions of tables and keys in one TOML source."""

    source: str
    paths: dict[str, Position] = field(default_factory=dict)

    def of(self, path: str) -> Position:
        """The position of `path`, else of its nearest ancestor, else the file's start."""
        while path:
            if path in self.paths:
                return self.paths[path]
            parent = _PARENT.sub("", path)
            if parent == path:
                break
            path = parent
        return Position(1, 1, 0)

    def find(self, needle: str, path: str) -> Position:
        """The position of `needle` inside the value of `path` (e.g. a link in a text)."""
        start = self.of(path)
        index = self.source.find(needle, start.offset)
        if index < 0:
            return start
        return _position_at(self.source, index)


def _position_at(source: str, index: int) -> Position:
    line = bisect_right(_line_starts(source), index)
    col = index - (source.rfind("\n", 0, index) + 1) + 1
    return Position(line, col, index)


@lru_cache(maxsize=4)
def _line_starts(source: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", source))]


def scan(source: str) -> KeyPositions:
    """Map the tables and keys of a (syntactically valid) TOML source to positions."""
    result = KeyPositions(source)
    table = ""  # the current table's concrete path, e.g. "questions[2]"
    counts: dict[str, int] = {}  # array-of-tables path → number of elements so far
    depth = 0  # inside [ ] or { } of a value
    line_start = True
    i, n = 0, len(source)

    def concrete(parts: list[str]) -> str:
        path = ""
        for part in parts:
            path = f"{path}.{part}" if path else part
            if path in counts:
                path = f"{path}[{counts[path] - 1}]"
        return path

    while i < n:
        c = source[i]
        if c == "\n":
            line_start = True
            i += 1
            continue
        if line_start and c in " \t\r":
            i += 1
            continue
        if line_start and depth == 0:
            line_start = False
            header = _HEADER.match(source, i) if c == "[" else None
            if header:
                parts = _key_parts(header.group(2))
                if header.group(1) == "[[":
                    array = concrete(parts[:-1])
                    array = f"{array}.{parts[-1]}" if array else parts[-1]
                    result.paths.setdefault(array, _position_at(source, i))
                    counts[array] = counts.get(array, 0) + 1
                    table = f"{array}[{counts[array] - 1}]"
                else:
                    table = concrete(parts)
                result.paths.setdefault(table, _position_at(source, i))
                i = header.end()
                continue
            key = _KEY.match(source, i)
            if key:
                path = (
                    ".".join([table, *_key_parts(key.group(1))])
                    if table
                    else ".".join(_key_parts(key.group(1)))
                )
                result.paths.setdefault(path, _position_at(source, i))
                i = key.end()
                continue
        line_start = False
        if c == "#":
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif c in "[{":
            depth += 1
            i += 1
        elif c in "]}":
            depth -= 1
            i += 1
        elif c in "\"'":
            i = _skip_string(source, i)
        else:
            i += 1
    return result


def _skip_string(source: str, i: int) -> int:
    """The index just past the string that starts at `i`."""
    quote = source[i]
    triple = source.startswith(quote * 3, i)
    delimiter = quote * 3 if triple else quote
    j = i + len(delimiter)
    while True:
        end = source.find(delimiter, j)
        if end < 0:
            return len(source)
        if not triple:
            newline = source.find("\n", j, end)
            if newline >= 0:
                return newline
        # In a basic ("…") string a quote after an odd number of backslashes is escaped.
        backslashes = len(source[j:end]) - len(source[j:end].rstrip("\\"))
        if quote == '"' and backslashes % 2:
            j = end + 1
            continue
        end += len(delimiter)
        # A multi-line string may end with up to two extra quotes: """a""""" is 'a""'.
        extra = 0
        while triple and extra < 2 and end < len(source) and source[end] == quote:
            end += 1
            extra += 1
        return end
