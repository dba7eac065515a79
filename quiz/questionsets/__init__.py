"""Question sets: the TOML files organisers edit, their validation, and
moving them in and out of the database.

- `schema`: the file format and `validate_text` (problems with line numbers)
- `positions`: where each field sits in the file, for those line numbers
- `problems`: the problems and their English and Dutch messages
- `store`: import into the database (all or nothing) and the refusal rules
- `export`: a set from the database back to TOML
"""

from quiz.questionsets.problems import Problem
from quiz.questionsets.schema import (
    OptionData,
    QuestionData,
    QuestionSetData,
    SourceData,
    Validated,
    validate_bytes,
    validate_text,
)

__all__ = [
    "OptionData",
    "Problem",
    "QuestionData",
    "QuestionSetData",
    "SourceData",
    "Validated",
    "validate_bytes",
    "validate_text",
]
