"""Benchmark: confirmed answers per second through gunicorn on PostgreSQL.

What runs:
- the web process exactly as the Procfile starts it in production
  (gunicorn, WEB_CONCURRENCY workers, access log on), against its own
  PostgreSQL database (quiz_bench_answer, emptied and migrated first);
- wrk on loopback in a second process POSTs "Bevestig mijn antwoord" for
  distinct (participant, question) pairs, so every request stores a new
  Answer and renders the full feedback page;
- then the same gunicorn command serving a bare Flask route that returns a
  page of the same size, for comparison;
- finally answers at half the measured maximum rate, for the latency there.

Writes its figures into docs/benchmarks.md between the "answer-bench"
markers. Run: `make bench` or `.venv/bin/python bench/answer.py`.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get(
    "QUIZ_BENCH_ANSWER_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/quiz_bench_answer"
)
# Enough fresh links for five rounds at about 1,500 answers/s (every request must be a first answer).
PARTICIPANTS = int(os.environ.get("BENCH_PARTICIPANTS", "50000"))
QUESTIONS = 5
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
REDIS_URL = os.environ.get("QUIZ_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
CPU_REQUESTS = 2200  # confirmations measured in one process (bench/answer_cpu.py)
SECRET = "bench-secret-key-not-for-production"
import answer_cpu  # noqa: E402  (bench/ is on the path when a script runs)
from benchdocs import write_section  # noqa: E402
from machine import machine_cpu_seconds, processes_cpu_seconds  # noqa: E402

START, END = "<!-- answer-bench:start -->", "<!-- answer-bench:end -->"

# The end of every wrk script here: one "BENCH {json}" line with the
# figures, which `wrk()` reads (bench/signup.py's script ends the same way).
WRK_SUMMARY_LUA = r"""
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  local fmt = 'BENCH {"requests": %d, "seconds": %f, "errors": %d, "p50_ms": %f, "p99_ms": %f}\n'
  io.write(string.format(fmt, summary.requests, summary.duration / 1e6, bad,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""

# wrk script: each connection POSTs the next unused answer link.
WRK_LUA = r"""
local lines = {}
for line in io.lines(os.getenv("BENCH_LINKS")) do lines[#lines + 1] = line end
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("offset", counter - 1)
  thread:set("stride", tonumber(os.getenv("BENCH_THREADS")))
  table.insert(threads, thread)
end
local n = 0
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
function request()
  -- past the end (a very fast machine) links repeat: those are "already answered"
  local i = (offset + n * stride) % #lines + 1
  n = n + 1
  local path, option = lines[i]:match("(%S+) (%S+)")
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  return wrk.format("POST", path, headers, "option=" .. option)
end
function delay() return pause end
""" + WRK_SUMMARY_LUA

# The prose under the figures: what a confirmation does, what was changed to
# make it cheaper, and what is left (see docs/benchmarks.md).
ANALYSIS = """
What a confirmation does (`quiz/web/confirm_fast.py`, in front of Flask, with
the functions of `quiz/web/answers.py`'s view): check the token's
HMAC; one statement, on an autocommit connection the web process keeps,
that reads the participant, the campaign, an earlier answer, the open
earlier questions and the scanner flag and, when these allow it, INSERTs
the answer, whose unique key settles double submits (committed without
waiting for the WAL flush; `answering.read_link_and_store`); fill the
person's two links into the feedback
page, rendered by Jinja once per shape (question, chosen option, the
distribution shown, open questions) per process. On PostgreSQL the
statement runs as a prepared statement straight on libpq (psycopg's
`PGconn.exec_prepared`, with SQLAlchemy's compiled SQL and psycopg's
adapters: `quiz/driver_sql.py`). The question, its options and their
Markdown come from a per-process cache (60 s); the distribution is counted
at most every 5 s per process. The per-link limit counts every other POST
on the link in Redis, not the one that records the answer, and no
SQLAlchemy Session is opened when the caches answer. Any other request on
an answer link (a revisit, a bad token, no option chosen, a scanner's form)
goes through Flask's view as before.

What changed since the first measurement (155 answers/s; 590/s and 15 % of
the bare route at the end of the first session; 490/s and 26 % at the end
of the second), each step measured as CPU per confirmation in one process
(cProfile and `time.process_time`):
the ORM participant load, the open-questions query and the scanner check
became one Core query; the feedback page is no longer rendered per request;
Flask-Limiter's hooks on every request gave way to the `limits` library
called from one decorator per limit, and a request that does not count
towards the bad-token limit no longer asks Redis; no cookie signer is built
for requests without a session cookie; the token is verified with a
prepared HMAC; the two statements skip SQLAlchemy's execution layer.
Third session: the statements skip psycopg's cursor too (76 → 14 µs of
client CPU for the link query), the recording POST makes no Redis round
trip, no Session is built, the security headers are appended at once, and
gunicorn runs cores + 1 workers instead of 2 × cores + 1 (less switching
between processes; see gunicorn.conf.py). Counted with callgrind by
`bench/answer_instructions.py` (user-space instructions of the Python
process per confirmation, the same whatever else runs on the machine):
2.79 million at the end of the second session (82f53fd), 1.92 million now
(b3ee6c7), 31 % fewer.

Fourth session (2026-11-22): the confirmation reads its two form fields
from the urlencoded body with `urllib.parse.parse_qsl` instead of werkzeug's
form parser (2,194,049 → 2,083,063 instructions per confirmation with
PYTHONHASHSEED=0, run side by side). Measured and left alone: an extra
round trip to PostgreSQL per confirmation (a `SELECT 1` added, alternating
runs) changed the machine's CPU per confirmation by nothing measurable
(1,766 vs 1,763 µs), so merging the two statements into one would not pay there;
PostgreSQL takes the INSERT alone, foreign-key checks on the shared
question and option rows included, at 23,000–32,000 per second from three
pgbench clients, so its row locks are not the limit either; a Unix socket
instead of TCP to PostgreSQL gave no clear difference (1,154, 1,433 and
1,385/s against 1,452 and 1,435/s, alternating).

Fifth session (2026-11-22, on an AMD EPYC machine with 2 cores, where the
fourth session's code made 739 confirmations/s and 32 % of the bare route
in a 5-round run): the POST that records an answer is served by a WSGI
handler in front of Flask (`quiz/web/confirm_fast.py`), with the view's own
functions and the headers Flask sends; everything else on the link still
goes to Flask's view, and tests/test_confirm_fast.py compares status,
headers and bytes of both paths. CPU per confirmation in one process went
from 0.75 to 0.45-0.50 ms. Each web thread then keeps one autocommit
connection between confirmations instead of taking one from the pool each
time (`Database.kept_connection`): 1,015,956 -> 929,879 instructions per
confirmation (callgrind, same database, one run after the other). Under
load (CPU time of each process kind over 10-second runs, three pairs):
gunicorn's workers 830-1,180 µs per confirmation against 630-680 µs per
bare request, PostgreSQL's backends 265-395 µs. What a confirmation costs
beyond a bare request was then as much PostgreSQL's as Python's, and a
round trip alone costs 58 µs in the backend and 41 µs in the client on this
machine (a `SELECT 1`). So the link's facts and the INSERT became one
statement: the INSERT (ON CONFLICT DO NOTHING) runs only when the facts read
in the same statement allow it, with the answer window tested by a bound SQL
can make without the working-day calendar (the last quiz day is `ends_on`,
or at least the first quiz day plus one day per further question); where
the bound says no, in the last days of a quiz over a weekend, the answer is
stored by a second statement as before. Three pairs of runs afterwards:
PostgreSQL's backends 247-307 µs per confirmation, gunicorn's workers
800-1,000 µs against 520-610 µs per bare request.

Sixth session (2026-11-22, another AMD EPYC machine with 2 cores, where the
fifth session's code made 2,750 confirmations/s and 52 % of the bare
route): two fixes to this benchmark. Each round starts with an empty answer
table: at 2,750/s a round stores some 53,000 answers, and the fifth round
had run out of the 250,000 seeded links in its half-rate run (14,135
errors). The CPU of gunicorn workers that exited during a run (restarted
after max_requests) counts as the server's, no longer as another job's: it
had shown as 0.65-1.28 cores of "other work" in every bare-route run.
The bare route's page size is taken from a feedback page after the first
round, with the bars as every answer from the tenth on gets them, not from
the first answer into the emptied table (2,306 bytes, without bars).
gunicorn preloads the app (gunicorn.conf.py): a restarted worker forks from
the master instead of importing the app again (0.68 s of CPU); in a
40-second flat-out run with three restarts the workers' CPU per
confirmation went from 485 to 471 µs.

Where a confirmation's cost goes on this machine, as CPU time of each
process kind over 10-second flat-out runs, per request: gunicorn's workers
437-451 µs against 295-313 µs for a bare request, PostgreSQL 176-186 µs,
the kernel's network work (softirq) 46-57 against 34-41 µs, wrk 80-84
against 71-79 µs; in all about 710 against 380 µs. Half the bare route's
rate needs a confirmation within twice a bare request's whole cost, which
leaves about 50 µs to spare. With the machine otherwise idle, one process:
a round trip to PostgreSQL costs the client 23 µs of CPU for a prepared
`SELECT $1` (libpq and the kernel; 56 µs wall), and the backend 88-100 µs
for the confirmation's statement, of which, measured by taking parts out:
the open earlier questions 8-18 µs, the INSERT's three foreign-key checks
about 13 µs, the in-statement `set_config` for the asynchronous commit 5-7
µs; a prepared `SELECT $1` alone costs the backend 22 µs. Tried and left,
each against runs of the schema as it is just before or after: without the
redundant foreign key answer.question_id (an option implies its question),
PostgreSQL's CPU per confirmation under load was 190 and 195 against 197
and 200 µs; with one composite key (option, question) instead of the two,
172 and 176 against 176 and 177 µs; dropping all three keys would save
about 20 µs, which the data model should not give up. The open questions as an ARRAY subquery instead
of string_agg, or read from a covering partial index on delivery: within
1-3 µs. A Unix socket instead of TCP: 692 and 714 against 707 and 720 µs
per confirmation in all. `synchronous_commit = off` for the whole
connection instead of in each statement would save the backend 5-7 µs, but
behind PgBouncer in transaction mode (docs/deploy.md) the setting would
leak to other clients' transactions, so it stays per statement.

Where the CPU went under load in the fourth session, before the fast path
(CPU time of each process kind over a
10-second flat-out run, per request): a gunicorn worker spends about
1,000–1,300 µs per confirmation against 550–580 µs per bare request, and
PostgreSQL's backends 210–320 µs per confirmation; the rest is wrk and
the kernel. Half the bare route's rate therefore needs the whole
confirmation, PostgreSQL included, within about twice a bare request.
The bare route is an empty Flask app, so through gunicorn it costs little
more than gunicorn's own HTTP handling and access log. The per-round table
shows how far a single round moves with the machine: the same code's
ratio has ranged from about a quarter to two thirds within minutes.
"""


BARE_APP = """
from flask import Flask, request
app = Flask(__name__)
BODY = "x" * int(__import__("os").environ["BENCH_PAGE_BYTES"])

@app.route("/a/<token>", methods=["GET", "POST"])
def bare(token):
    request.form.get("option")
    return BODY
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database() -> None:
    from sqlalchemy import create_engine, text

    from quiz import create_app
    from quiz.cli.database import upgrade
    from quiz.db import database

    admin = create_engine(DB_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = DB_URL.rsplit("/", 1)[1]
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(DB_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = create_app(config())
    upgrade(app)
    database(app).dispose()


def config() -> dict:
    return {
        "QUIZ_IGNORE_DOTENV": True,
        "QUIZ_ENV": "production",
        "QUIZ_SECRET_KEY": SECRET,
        "QUIZ_DATABASE_URL": DB_URL,
        "QUIZ_MAIL_BACKEND": "smtp",
        "QUIZ_BASE_URL": "http://127.0.0.1",
        # Several web processes share their rate-limit counters in Redis, as
        # in production (docs/deploy.md; `quiz check` refuses memory:// there).
        "QUIZ_RATELIMIT_STORAGE_URL": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": f"quiz-bench-{os.getpid()}",
    }


def seed(links_file: Path) -> int:
    """A campaign, its 5 questions, PARTICIPANTS people who all got every
    question; one answer link per (participant, question). Returns the count."""
    from sqlalchemy import insert

    from quiz import create_app
    from quiz.db import database, session_scope
    from quiz.links import answer_token
    from quiz.models import Campaign, Delivery, Option, Participant, Question, QuestionSet

    app = create_app(config())
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo("Europe/Amsterdam")).date()
    with session_scope(app) as s:
        qs = QuestionSet(slug="bench", version=1, title="Bench", created_at=now, updated_at=now)
        for k in range(1, QUESTIONS + 1):
            q = Question(
                position=k,
                title=f"Vraag {k}",
                body="Wat doe je **eerst**?",
                explanation="Uitleg met *nadruk*.",
                discussion_prompt="Bespreek het.",
                sources=[{"title": "Rijksoverheid", "url": "https://www.rijksoverheid.nl/"}],
            )
            for i, label in enumerate("ABCD"):
                q.options.append(
                    Option(position=i + 1, label=label, text=f"Antwoord {label}", is_correct=i == 1)
                )
            qs.questions.append(q)
        s.add(qs)
        s.flush()
        campaign = Campaign(slug="bench", name="Bench", question_set_id=qs.id, start_mode="rolling",
                            send_time=dtime(7, 30), skip_dates=[], created_at=now)  # fmt: skip
        s.add(campaign)
        s.commit()
        s.execute(
            insert(Participant),
            [
                {
                    "campaign_id": campaign.id,
                    "email": f"p{i}@example.org",
                    "organisation": "School",
                    "sector": "onderwijs",
                    "status": "active",
                    "created_at": now,
                    "confirmed_at": now,
                    "first_quiz_day": today,
                }  # fmt: skip
                for i in range(PARTICIPANTS)
            ],
        )
        s.commit()
        pids = list(s.scalars(Participant.__table__.select().with_only_columns(Participant.id)))
        questions = [(q.id, [o.id for o in q.options]) for q in qs.questions]
        s.execute(
            insert(Delivery),
            [
                {
                    "participant_id": pid,
                    "kind": "question",
                    "day": k + 1,
                    "question_id": qid,
                    "due_at": now,
                    "status": "sent",
                    "attempts": 1,
                    "sent_at": now,
                    "created_at": now,
                }  # fmt: skip
                for pid in pids
                for k, (qid, _) in enumerate(questions)
            ],
        )
        s.commit()
    with app.app_context(), links_file.open("w") as out:
        # Question-major order: a burst of answers to today's question.
        for n, (qid, options) in enumerate(questions):
            for i, pid in enumerate(pids):
                option = options[(i + n) % 4]
                out.write(f"/a/{answer_token(pid, qid, option)} {option}\n")
    database(app).dispose()
    return len(pids) * len(questions)


def procfile_web_command(app_target: str, port: int, env: dict) -> list[str]:
    """The Procfile's web command, expanded the way honcho/a shell would."""
    line = next(ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    command = line.split(":", 1)[1].strip().replace("wsgi:app", app_target)
    expanded = subprocess.run(
        ["bash", "-c", f"echo {command}"], env=env, capture_output=True, text=True, check=True
    )
    cmd = shlex.split(expanded.stdout)
    # The production settings are gunicorn.conf.py; the benchmark measures exactly those.
    assert "--config" in cmd and cmd[cmd.index("--config") + 1] == "gunicorn.conf.py", cmd
    return cmd


def start_server(app_target: str, env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**env, "QUIZ_BIND": f"127.0.0.1:{port}"}  # gunicorn.conf.py binds to it
    cmd = procfile_web_command(app_target, port, env)
    cmd[0] = str(ROOT / ".venv" / "bin" / cmd[0]) if cmd[0] == "gunicorn" else cmd[0]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/privacy", timeout=1)
            break
        except urllib.error.HTTPError:
            break  # the bare app has no /privacy, but it answers
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit(f"server did not start; see {log}")
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def _benchmark_cpu_seconds(server: int) -> float:
    """CPU seconds so far of the benchmark's own long-running processes: the
    server (gunicorn's master and workers, started in a session of their
    own) and PostgreSQL (every postgres process)."""
    return processes_cpu_seconds(lambda comm, session: comm == "postgres" or session == server)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(
    url: str, lua: Path, links: Path, first_line: int, duration: int, delay_ms: float = 0, server: int = 0
) -> dict:
    """One wrk run. With `server` (the gunicorn master's pid) it also reports
    `other_cores`: the cores that processes other than the server, PostgreSQL
    and wrk kept busy meanwhile (another job on a shared machine)."""
    threads = 1  # one wrk thread keeps up; the second core goes to the server
    env = {
        **os.environ,
        "BENCH_LINKS": str(links),
        "BENCH_THREADS": str(threads),
        "BENCH_DELAY_MS": str(delay_ms),
    }
    # Skip the lines used by earlier runs: every request is a first answer.
    tail = links.with_suffix(f".from{first_line}")
    with links.open() as src, tail.open("w") as dst:
        for i, line in enumerate(src):
            if i >= first_line:
                dst.write(line)
    env["BENCH_LINKS"] = str(tail)
    machine, ours = machine_cpu_seconds(), _benchmark_cpu_seconds(server)
    wrk_cpu, started = _children_cpu(), time.monotonic()
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "5s", "-s", str(lua), url],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall, wrk_cpu = time.monotonic() - started, _children_cpu() - wrk_cpu
    machine_after, ours_after = machine_cpu_seconds(), _benchmark_cpu_seconds(server)
    result = json.loads(re.search(r"^BENCH (.*)$", out.stdout, re.M).group(1))
    result["rate"] = result["requests"] / result["seconds"]
    if server:  # session id 0 would be the kernel's own threads
        other = (machine_after - machine) - (ours_after - ours) - wrk_cpu
        result["other_cores"] = max(other, 0.0) / wall
    return result


def _one_statement(sql: str) -> Any:
    """Run `sql` on the benchmark's database (outside the server); its first
    value when it returns rows."""
    from sqlalchemy import create_engine, text

    engine = create_engine(DB_URL)
    with engine.begin() as conn:
        result = conn.execute(text(sql))
        value = result.scalar() if result.returns_rows else None
    engine.dispose()
    return value


def empty_answers() -> None:
    """Every answer link fresh again, at the start of a round. A round on a
    fast machine stores some 50,000 answers (2,750/s on 2026-11-22), so five
    rounds would run past the seeded links into revisits, which are not what
    is measured here; emptying the table also gives every round the same
    starting point."""
    _one_statement("TRUNCATE answer")


def count_answers() -> int:
    return int(_one_statement("SELECT count(*) FROM answer"))


def page_bytes(url: str, links: Path, line: int) -> int:
    path, option = links.read_text().splitlines()[line].split()
    req = urllib.request.Request(url + path, data=f"option={option}".encode())
    with urllib.request.urlopen(req) as response:
        body = response.read()
    text = body.decode()
    assert "Goed!" in text or "niet goed" in text, "not a feedback page"
    assert "al beantwoord" not in text, "a revisit's page, not a first answer's"
    return len(body)


def measure_answers(url: str, lua: Path, links: Path, server: int) -> dict:
    """Confirmed answers flat out, then at half that rate, on a running server."""
    wrk(url, lua, links, count_answers(), 2)  # warm-up
    used = before = count_answers()
    full = wrk(url, lua, links, used, DURATION, server=server)
    used = count_answers()
    full_stored = used - before
    confirmed_rate = full_stored / full["seconds"]
    half_target = confirmed_rate / 2
    # Closed loop with a pause per connection: rate ≈ C / (latency + pause).
    # A short calibration run measures the latency at about that rate.
    pause = max(CONNECTIONS * 1000 / half_target - full["p50_ms"], 0)
    probe = wrk(url, lua, links, used, 3, pause)
    used = count_answers()
    latency = max(CONNECTIONS * 1000 / probe["rate"] - pause, 0)
    pause = max(CONNECTIONS * 1000 / half_target - latency, 0)
    half = wrk(url, lua, links, used, DURATION, pause)
    half_stored = count_answers() - used
    # Each request stores a new answer, unless the links ran out (wrk then
    # starts again at the first ones: revisits). A few more are stored than
    # wrk counts: requests still being served when it stops.
    if full_stored < 0.99 * full["requests"] or half_stored < 0.99 * half["requests"]:
        raise SystemExit(
            "fewer answers stored than requests made: requests failed, or the links ran out "
            "(raise BENCH_PARTICIPANTS)"
        )
    return {
        "answers_per_s": confirmed_rate,
        "full_p50": full["p50_ms"],
        "full_p99": full["p99_ms"],
        "full_errors": full["errors"],
        "full_other": full["other_cores"],
        "half_rate": half_stored / half["seconds"],
        "half_p50": half["p50_ms"],
        "half_p99": half["p99_ms"],
        "half_errors": half["errors"],
    }


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: `apt-get install -y wrk` (make bench does this)")
    work = Path(tempfile.mkdtemp(prefix="bench-answer-"))
    lua, links = work / "post.lua", work / "links.txt"
    lua.write_text(WRK_LUA)
    (work / "bare_app.py").write_text(BARE_APP)
    load_before = os.getloadavg()[0]
    print(f"Preparing {DB_URL.rsplit('@', 1)[-1]} …", flush=True)
    prepare_database()
    total = seed(links)
    print(f"Seeded {PARTICIPANTS} participants, {total} answer links.", flush=True)
    cpu = answer_cpu.measure(config(), [tuple(line.split()) for line in links.open()][:CPU_REQUESTS])
    print(json.dumps(cpu), flush=True)

    env = {**os.environ, **{k: str(v) for k, v in config().items() if k != "QUIZ_IGNORE_DOTENV"}}
    env.pop("QUIZ_IGNORE_DOTENV", None)
    rounds = []
    size = 0
    # Answers and bare route alternate, REPEATS times, so both see the same
    # share of whatever else runs on the machine; the docs get the medians.
    for n in range(REPEATS):
        empty_answers()
        proc, url = start_server("wsgi:app", env, work / f"gunicorn-app-{n}.log")
        try:
            answers = measure_answers(url, lua, links, proc.pid)
            if not size:  # a first answer's page with the bars, as from the tenth answer on;
                # a link past those wrk may still have had in flight when it stopped
                size = page_bytes(url, links, count_answers() + 100)
        finally:
            stop(proc)
        bare_env = {**env, "BENCH_PAGE_BYTES": str(size), "PYTHONPATH": str(work)}
        proc, bare_url = start_server("bare_app:app", bare_env, work / f"gunicorn-bare-{n}.log")
        try:
            wrk(bare_url, lua, links, 0, 2)
            bare = wrk(bare_url, lua, links, 0, DURATION, server=proc.pid)
        finally:
            stop(proc)
        rounds.append(
            {
                **answers,
                "bare_per_s": bare["rate"],
                "bare_p50": bare["p50_ms"],
                "bare_p99": bare["p99_ms"],
                "bare_other": bare["other_cores"],
            }
        )
        print(json.dumps(rounds[-1]), f"load {os.getloadavg()[0]:.1f}", flush=True)

    figures = {
        **cpu,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "page_bytes": size,
        "rounds": len(rounds),
        "ratios": [r["answers_per_s"] / r["bare_per_s"] for r in rounds],
        "per_round": rounds,
        **{k: statistics.median(r[k] for r in rounds) for k in rounds[0] if not k.endswith("errors")},
        **{k: sum(r[k] for r in rounds) for k in rounds[0] if k.endswith("errors")},
    }
    print(json.dumps(figures, indent=2))
    write_docs(figures)
    ok = (
        figures["answers_per_s"] >= 1000
        and figures["answers_per_s"] >= figures["bare_per_s"] / 2
        and figures["half_p99"] < 50
        and not figures["full_errors"]
        and not figures["half_errors"]
    )
    print("Targets met." if ok else "Targets NOT met (see docs/benchmarks.md).")


def write_docs(f: dict) -> None:
    ratio = statistics.median(f["ratios"])
    missed = [
        name
        for name, ok in (
            ("≥ 1,000 answers/s", f["answers_per_s"] >= 1000),
            ("≥ 50 % of the bare route", ratio >= 0.5),
            ("p99 < 50 ms at half rate", f["half_p99"] < 50),
        )
        if not ok
    ]
    verdict = (
        "**All targets met.**"
        if not missed
        else f"**Targets not met in this run: {', '.join(missed)}.** See below for where the time goes."
    )
    rows = "\n".join(
        [
            f"| confirmed answers, flat out | **{f['answers_per_s']:,.0f}/s** | {f['full_p50']:.1f} ms "
            f"| {f['full_p99']:.1f} ms | ≥ 1,000/s |",
            f"| bare Flask route, same size, flat out | {f['bare_per_s']:,.0f}/s | {f['bare_p50']:.1f} ms "
            f"| {f['bare_p99']:.1f} ms | — |",
            f"| answers ÷ bare route (median of the rounds' ratios) | {ratio:.0%} | | | ≥ 50 % |",
            f"| confirmed answers at half the maximum | {f['half_rate']:,.0f}/s | {f['half_p50']:.1f} ms "
            f"| **{f['half_p99']:.1f} ms** | p99 < 50 ms |",
        ]
    )
    round_rows = "\n".join(
        f"| {n} | {r['answers_per_s']:,.0f}/s | {r['bare_per_s']:,.0f}/s | {ratio_n:.0%} "
        f"| {r['half_p99']:.1f} ms | {r['full_other']:.2f} / {r['bare_other']:.2f} |"
        for n, (r, ratio_n) in enumerate(zip(f["per_round"], f["ratios"], strict=True), 1)
    )
    cpu_rows = "\n".join(
        f"| {label} | {f[key]:.3f} ms | {f[key] / f['bare_cpu_ms']:.1f} |"
        for label, key in (
            ("bare Flask route, same page size", "bare_cpu_ms"),
            ("the quiz app's own empty route (its hooks: headers, CSRF check, session)", "floor_cpu_ms"),
            ("confirmed answer", "confirm_cpu_ms"),
        )
    )
    section = f"""{START}
## Answering (`bench/answer.py`)

Measured {f["date"]} on {f["machine"]}. The web process exactly as the Procfile
starts it in production: `gunicorn --config gunicorn.conf.py` (sync workers,
cores + 1 processes, access log on) on PostgreSQL
(`quiz_bench_answer`); wrk ({CONNECTIONS} connections, one thread) on loopback POSTs
"Bevestig mijn antwoord" for a new (participant, question) pair each time, so
every request stores an Answer and renders the feedback page ({f["page_bytes"]} bytes).
The bare route returns a page of the same size under the same gunicorn config.
{f["rounds"]} rounds, answers and bare route alternating; medians below,
then each round.

| run | rate | p50 | p99 | target |
|---|---|---|---|---|
{rows}

| round | answers | bare route | ÷ bare | p99, half rate | other work, cores (answers / bare) |
|---|---|---|---|---|---|
{round_rows}

"Other work" is the CPU that processes other than gunicorn, PostgreSQL and
wrk used during the flat-out run, in cores: another job on this shared
2-core machine (a test suite, a build) takes that much from the benchmark, and
a round with a high figure there measured the neighbour as much as the code.

CPU per request in one Python process, measured in the same run before the
server starts (`bench/answer_cpu.py`: WSGI calls, `time.process_time`, so
other load on the machine counts little):

| request | CPU per request | ÷ bare route |
|---|---|---|
{cpu_rows}

Errors (non-2xx, timeouts): {f["full_errors"]} flat out, {f["half_errors"]} at half rate.
Load average (1 min) {f["load_before"]:.1f} before the run, {f["load_after"]:.1f} after. wrk is
closed-loop: the half-rate run paces each connection with a pause, so a slow
response delays the next request rather than queueing it (wrk2-style
open-loop figures would show a somewhat longer tail). The machine runs wrk,
gunicorn and PostgreSQL on the same cores.

{verdict}
{ANALYSIS}
{END}"""
    write_section(START, END, section)


if __name__ == "__main__":
    main()
