"""Instructions per question email sent, counted by valgrind (callgrind).

    .venv/bin/python bench/send_instructions.py      # about 5 minutes

bench/send.py's messages/s and CPU time per message move by tens of percent
with whatever else runs on the shared cores; the number of instructions the
sender's Python process executes per message does not (callgrind counts them
in user space: the same for the same code and data, whatever the load). This
is how the sender's steps were compared (docs/benchmarks.md, "Sending the
morning's questions").

How: bench/send.py's database (QUIZ_BENCH_DATABASE_URL, emptied first) with
WARMUP + MANY participants due, Postfix's smtp-sink, and the real sender
(`quiz.sender.drain`: claim, load, context with six signed links, render,
build_message, SMTP, grouped commits) in one process over one connection,
run under callgrind twice: WARMUP messages, then FEW or MANY more. The
difference of the two totals over MANY - FEW is the count per message,
start-up and warm-up cancelled out. The batches are full (FEW, MANY and
WARMUP are multiples of the batch size), so each run claims and commits as
the morning drain does. PostgreSQL's and the sink's work is not counted
(other processes), nor the kernel's.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import send as bench  # noqa: E402  (bench/send.py: database, sink and settings)
from callgrind import instructions  # noqa: E402

BATCH = 500
WARMUP, FEW, MANY = BATCH, BATCH, 3 * BATCH


def _run(url: str, port: int, count: int) -> int:
    """Instructions of one sender process that sends `count` messages after the warm-up."""
    bench.reset_outbox(url)
    total, stdout = instructions(__file__, "--child", url, str(port), str(count))
    if f"sent {WARMUP + count}" not in stdout:
        raise SystemExit(f"the sender did not send every message:\n{stdout}")
    return total


def _child(url: str, port: int, count: int) -> None:
    from quiz import create_app
    from quiz.mailer import transport_from_config
    from quiz.sender import FixedClock, drain

    config = bench.app_config(url, port, 1) | {"QUIZ_OUTBOX_BATCH_SIZE": BATCH}
    # valgrind runs the process some 50 times slower: the lease must outlast a batch.
    config["QUIZ_OUTBOX_LEASE_SECONDS"] = 3600
    app = create_app(config)
    clock = FixedClock(bench.NOW)
    sent = drain(app, transport_from_config(app.config), clock, "instr", limit=WARMUP).sent
    sent += drain(app, transport_from_config(app.config), clock, "instr", limit=count).sent
    print(f"sent {sent}")


def main() -> None:
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is missing: `apt-get install -y valgrind`")
    url = os.environ.get("QUIZ_BENCH_DATABASE_URL", bench.DEFAULT_URL)
    bench.ensure_database(url)
    bench.populate(url, WARMUP + MANY)
    bench.timed_plan(url)
    port = bench.free_port()
    sink = bench.start_sink("smtp-sink", port)
    try:
        few = _run(url, port, FEW)
        many = _run(url, port, MANY)
    finally:
        bench.stop_sink(sink)
    print(f"{(many - few) / (MANY - FEW):,.0f} instructions per message (callgrind, user space)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
