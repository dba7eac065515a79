"""Benchmark and proof: two web and two scheduler processes on one PostgreSQL.

    make bench                                  # N = 20,000
    .venv/bin/python bench/scaleout.py -n 5000  # quicker

Two rounds on the same outbox (N question emails due at once, as at 07:30):
first one scheduler process, then two, each exactly as the Procfile starts it
(`python scheduler.py`, one SMTP connection each). In both rounds two web
processes (the Procfile's gunicorn, 2 workers each) take a steady stream of
signups from wrk at the same time, each queueing a confirmation email that
the schedulers send too. Postfix's `smtp-sink` writes every message it
accepts to a file, so the proof counts at the receiving end: every delivery
in the database arrives exactly once (no duplicate by Message-ID, none lost),
questions and live confirmations alike.

The send rate is the questions sent divided by the time between the first
and the last `sent_at`, so process start-up is not counted; the baseline is
the round with one scheduler. Issue 18 sets no target here. Writes the
"scaleout-bench" section of docs/benchmarks.md. Builds on bench/send.py
(database, population, planner) and bench/answer.py + bench/signup.py (the
web servers and wrk), and on tests/test_scheduler_processes.py, which proves
the same property for 2 and 4 schedulers under SIGKILL in the test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import answer as web_harness  # noqa: E402
import send as send_harness  # noqa: E402
import signup as signup_bench  # noqa: E402
from benchdocs import database_url, write_section  # noqa: E402

START, END = "<!-- scaleout-bench:start -->", "<!-- scaleout-bench:end -->"
SIGNUP_CONNECTIONS, SIGNUP_PAUSE_MS = 2, 20  # per web process: a steady ≈ 100 signups/s, not flat out
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.I | re.M)


def start_sink(port: int, dump: Path) -> subprocess.Popen:
    """smtp-sink writing each accepted message to its own file under `dump`."""
    binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    dump.mkdir(parents=True)
    dump.chmod(0o777)  # smtp-sink runs as nobody when we are root
    args = [binary, "-d", f"{dump}/%H/"]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    proc = subprocess.Popen([*args, f"127.0.0.1:{port}", "1000"])
    send_harness.wait_for_port(port)
    return proc


def received(dump: Path) -> Counter[str]:
    ids: Counter[str] = Counter()
    for path in dump.rglob("*"):
        if path.is_file():
            match = _MESSAGE_ID.search(path.read_bytes())
            ids[match.group(1).decode() if match else f"(no Message-ID: {path.name})"] += 1
    return ids


def start_scheduler(url: str, port: int, work: Path, n: int) -> subprocess.Popen:
    env = {
        **os.environ,
        **{k: str(v) for k, v in send_harness.app_config(url, port).items() if k != "QUIZ_IGNORE_DOTENV"},
        "QUIZ_SCHEDULER_INTERVAL_SECONDS": "1",
        "QUIZ_OUTBOX_LEASE_SECONDS": "120",
    }
    log = (work / f"scheduler-{n}.log").open("w")
    # cwd: an empty folder, so no developer's .env is read.
    return subprocess.Popen([sys.executable, str(ROOT / "scheduler.py")], cwd=work, env=env,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def outbox_state(url: str) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE status = 'sent'), count(*),"
                " count(*) FILTER (WHERE kind = 'question' AND status = 'sent'),"
                " min(sent_at) FILTER (WHERE kind = 'question'),"
                " max(sent_at) FILTER (WHERE kind = 'question')"
                " FROM delivery"
            )
        ).one()
        ids = set(conn.scalars(text("SELECT message_id FROM delivery WHERE status = 'sent'")))
    engine.dispose()
    sent, total, questions, first, last = row
    return {"sent": sent, "total": total, "questions": questions, "first": first, "last": last, "ids": ids}


def web_load(urls: list[str], lua: Path, lines: Path, stop: threading.Event) -> list[threading.Thread]:
    """Paced wrk against each web process, 5 s at a time until `stop`, each
    request a new address (each process its own half of `lines`)."""
    total = sum(1 for _ in lines.open())

    def run(url: str, first: int) -> None:
        while not stop.is_set():
            env = {**os.environ, "BENCH_LINKS": str(lines), "BENCH_THREADS": "1", "BENCH_START": str(first),
                   "BENCH_DELAY_MS": str(SIGNUP_PAUSE_MS)}  # fmt: skip
            out = subprocess.run(
                ["wrk", "-t1", f"-c{SIGNUP_CONNECTIONS}", "-d5s", "--timeout", "5s", "-s", str(lua), url],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            first += int(re.search(r'"requests": (\d+)', out.stdout).group(1))

    threads = [threading.Thread(target=run, args=(u, i * total // len(urls))) for i, u in enumerate(urls)]
    for t in threads:
        t.start()
    return threads


def one_round(url: str, schedulers: int, work: Path, web_urls: list[str], lua: Path, lines: Path) -> dict:
    send_harness.reset_outbox(url)
    port = send_harness.free_port()
    dump = work / f"sink-{schedulers}"
    sink = start_sink(port, dump)
    stop = threading.Event()
    load = web_load(web_urls, lua, lines, stop)
    time.sleep(2)  # the web processes are busy before the first scheduler starts
    procs = [start_scheduler(url, port, work, i) for i in range(schedulers)]
    started = time.monotonic()
    try:
        while True:
            time.sleep(1)
            state = outbox_state(url)
            if state["questions"] == ARGS.n:
                break
            if time.monotonic() - started > 1800:
                raise SystemExit(f"not all sent after 30 minutes: {state['sent']}/{state['total']}")
        stop.set()
        for t in load:
            t.join()
        # The last signups' confirmations go out within a tick or two.
        deadline = time.monotonic() + 60
        while (state := outbox_state(url))["sent"] < state["total"] and time.monotonic() < deadline:
            time.sleep(1)
    finally:
        stop.set()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        time.sleep(1)  # let smtp-sink close its last files
        sink.terminate()
        sink.wait()
    got = received(dump)
    seconds = (state["last"] - state["first"]).total_seconds()
    return {
        "schedulers": schedulers,
        "questions": state["questions"],
        "confirmations": state["total"] - ARGS.n,
        "rate": state["questions"] / seconds if seconds else float("inf"),
        "seconds": seconds,
        "duplicates": sum(n - 1 for n in got.values() if n > 1),
        "lost": len(state["ids"] - set(got)),
        "unsent": state["total"] - state["sent"],
        "stray": len(set(got) - state["ids"]),
    }


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=20_000, help="question emails due at once (default 20,000)")
    parser.add_argument("--url", default=database_url("quiz_bench_scaleout"))
    ARGS = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: `apt-get install -y wrk` (make bench does this)")
    work = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    work.chmod(0o755)
    load_before = os.getloadavg()[0]
    print(f"# {ARGS.n:,} questions due; {os.cpu_count()} CPUs", flush=True)
    send_harness.ensure_database(ARGS.url)
    send_harness.populate(ARGS.url, ARGS.n)
    seconds, planned = send_harness.timed_plan(ARGS.url)
    assert planned == ARGS.n, planned

    web_harness.DB_URL = ARGS.url
    env = {**os.environ, **{k: str(v) for k, v in web_harness.config().items() if k != "QUIZ_IGNORE_DOTENV"}}
    env |= {"QUIZ_PROXY_HOPS": "1", "WEB_CONCURRENCY": "2", "QUIZ_DATABASE_URL": ARGS.url}
    lua, lines = work / "signup.lua", work / "signups.txt"
    lua.write_text(signup_bench.WRK_LUA)
    webs = [web_harness.start_server("wsgi:app", env, work / f"web-{i}.log") for i in range(2)]
    rounds = []
    try:
        cookie, token = signup_bench.session_and_token(webs[0][1])
        signup_bench.REQUESTS = 300_000
        signup_bench.write_lines(lines, token)
        os.environ["BENCH_COOKIE"] = cookie
        for schedulers in (1, 2):
            result = one_round(ARGS.url, schedulers, work, [u for _, u in webs], lua, lines)
            print(result, flush=True)
            rounds.append(result)
    finally:
        for proc, _ in webs:
            web_harness.stop(proc)
    write_docs(rounds, load_before)
    ok = all(r["duplicates"] == 0 and r["lost"] == 0 and r["unsent"] == 0 and r["stray"] == 0 for r in rounds)
    print("No duplicate, none lost." if ok else "DUPLICATES OR LOSSES: see docs/benchmarks.md")
    if not ok:
        raise SystemExit(1)


def write_docs(rounds: list[dict], load_before: float) -> None:
    one, two = rounds
    rows = "\n".join(
        f"| {r['schedulers']} | {r['questions']:,} + {r['confirmations']:,} | **{r['rate']:,.0f} msg/s** "
        f"({r['seconds']:.1f} s) | {r['duplicates']} | {r['lost'] + r['unsent']} |"
        for r in rounds
    )
    exact = all(not (r["duplicates"] or r["lost"] or r["unsent"] or r["stray"]) for r in rounds)
    section = f"""{START}
## Scale-out: two web and two scheduler processes (`bench/scaleout.py`)

{one["questions"]:,} question emails due at once on one PostgreSQL, sent by one and then by two
scheduler processes as the Procfile starts them, while two web processes (gunicorn, 2
workers each) take signups from wrk (at most {SIGNUP_CONNECTIONS * 1000 // SIGNUP_PAUSE_MS}/s each), whose
confirmations go out too. smtp-sink keeps every message; the count is made there,
by Message-ID. Baseline: the round with one scheduler. Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,
load average {load_before:.1f} before.

| schedulers | sent (questions + confirmations) | question send rate | duplicates | lost |
|---|---|---|---|---|
{rows}

Two schedulers ÷ one: **{two["rate"] / one["rate"]:.2f}**. No target in issue 18; what must hold
is that every delivery arrives exactly once: {"it did, in both rounds" if exact else "**it did not**"}.
On {os.cpu_count()} cores shared by everything, a second scheduler gains only where a core is idle.
{END}"""
    write_section(START, END, section)


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
