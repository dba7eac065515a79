"""The house: quiz/ is grouped by the stages a participant's data passes
through (README, "Map of the code"), no module imports another in a circle,
and a stage imports only the shared core and the stages before it. Read
from the source with `ast`, imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

QUIZ = Path(__file__).resolve().parent.parent / "quiz"

# In flow order; each may import the core and the stages before it.
STAGES = ["questionsets", "delivery", "signup", "answering", "followups", "repeats", "rights", "admin", "ops"]
# The web entry points above all stages: the app factory and the commands.
TOP = {"quiz", "quiz.cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(QUIZ.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in QUIZ.rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """The quiz modules `path` imports (a `from package import module` counts
    as the module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
    return {name for name in found if name in known}


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(path, known) - {name} for name, path in found.items()}


def stage_of(module: str) -> str:
    parts = module.split(".")
    if module in TOP or (len(parts) > 1 and parts[1] == "cli"):
        return "top"
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else "core"


def test_no_module_imports_another_in_a_circle():
    edges = graph()
    circles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                circles.append(trail[trail.index(nxt) :] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert circles == []


def test_a_stage_imports_only_the_core_and_the_stages_before_it():
    rank = {"core": -1, **{stage: i for i, stage in enumerate(STAGES)}, "top": len(STAGES)}
    wrong = []
    for module, targets in graph().items():
        here = stage_of(module)
        for target in targets:
            there = stage_of(target)
            allowed = there == here or rank[there] < rank[here]
            if not allowed:
                wrong.append(f"{module} ({here}) imports {target} ({there})")
    assert wrong == []


def test_the_readme_map_names_every_module():
    readme = (QUIZ.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Map of the code") : readme.index("## Processes")]
    missing = []
    for path in QUIZ.rglob("*.py"):
        if path.name == "__init__.py" and path.parent != QUIZ:
            continue
        rel = path.relative_to(QUIZ.parent).as_posix()
        # Named with its folder, or by file name in its folder's rows.
        if rel not in section and f"`{path.name}`" not in section:
            missing.append(rel)
    assert missing == []
