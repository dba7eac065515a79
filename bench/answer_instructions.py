"""Instructions per answer confirmation, counted by valgrind (callgrind).

    .venv/bin/python bench/answer_instructions.py     # about 3 minutes

Throughput and CPU time on a shared 2-core machine move by tens of percent
with whatever else runs; the number of instructions the Python process
executes per confirmation does not (callgrind counts them in user space:
the same for the same code and data, whatever the load). This is how the
answer path's steps were compared (docs/benchmarks.md, "Answering").

How: seed bench/answer.py's database (its config, its own
QUIZ_BENCH_ANSWER_DATABASE_URL), then run WSGI confirmations in one process
under callgrind twice, with FEW and MANY requests after the same warm-up;
the difference of the two totals over the difference in requests is the
count per confirmation, start-up and warm-up cancelled out. PostgreSQL's own
work is not counted (another process).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from callgrind import instructions  # bench/ is on the path when a script runs

ROOT = Path(__file__).resolve().parent.parent
FEW, MANY, WARMUP = 100, 400, 50


def _run(links: Path, start: int, count: int) -> int:
    """Instructions of one process that confirms `count` answers after the warm-up."""
    return instructions(__file__, "--child", str(links), str(start), str(count))[0]


def _child(links: Path, start: int, count: int) -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import answer
    import answer_cpu

    from quiz import create_app

    app = create_app(answer.config())
    pairs = [line.split() for line in links.open()][start : start + WARMUP + count]
    requests = [(path, f"option={option}".encode()) for path, option in pairs]
    answer_cpu._cpu_per_request(app, requests[:WARMUP])
    if count:
        answer_cpu._cpu_per_request(app, requests[WARMUP:])


def main() -> None:
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is missing: `apt-get install -y valgrind`")
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import answer

    links = Path(tempfile.mkdtemp(prefix="bench-instr-")) / "links.txt"
    answer.prepare_database()
    answer.seed(links)
    few = _run(links, 0, FEW)
    many = _run(links, 1000, MANY)
    print(f"{(many - few) / (MANY - FEW):,.0f} instructions per confirmation (callgrind, user space)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
