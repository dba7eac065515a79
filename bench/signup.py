"""Benchmark: signups per second through gunicorn on PostgreSQL.

The same harness as bench/answer.py (its server, wrk and database helpers):
the web process exactly as the Procfile starts it, against its own database
(quiz_bench_signup, emptied and migrated first), behind a pretend proxy
(QUIZ_PROXY_HOPS=1, every request from its own X-Forwarded-For address, as
participants behind nginx are), with the abuse limits and CSRF on. wrk POSTs
the signup form with a new email address each time, so every request
validates the form, stores a pending participant and enqueues the
confirmation email in one transaction, then redirects (303). A bare Flask
route that reads the same form and redirects runs under the same gunicorn
command for comparison.

Issue 18 sets no target here. Writes the "signup-bench" section of
docs/benchmarks.md. Run: `make bench` or `.venv/bin/python bench/signup.py`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import urllib.request
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import answer as harness  # noqa: E402  (bench/answer.py: server, wrk and database helpers)
from benchdocs import database_url, write_section  # noqa: E402

DB_URL = database_url("quiz_bench_signup")
# The harness's helpers read its module-level database URL.
harness.DB_URL = DB_URL
REQUESTS = int(os.environ.get("BENCH_SIGNUPS", "200000"))

START, END = "<!-- signup-bench:start -->", "<!-- signup-bench:end -->"

# Each line of BENCH_LINKS is "<client address> <form body>", used from line
# BENCH_START on; it ends with bench/answer.py's summary (WRK_SUMMARY_LUA),
# which its wrk() reads.
WRK_LUA = r"""
local lines = {}
for line in io.lines(os.getenv("BENCH_LINKS")) do lines[#lines + 1] = line end
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("offset", counter - 1)
  thread:set("stride", tonumber(os.getenv("BENCH_THREADS")))
end
local n = 0
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local cookie = os.getenv("BENCH_COOKIE")
local first = tonumber(os.getenv("BENCH_START") or "0")
function request()
  local i = (first + offset + n * stride) % #lines + 1
  n = n + 1
  local addr, body = lines[i]:match("(%S+) (%S+)")
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded",
                   ["X-Forwarded-For"] = addr, ["Cookie"] = cookie}
  return wrk.format("POST", "/", headers, body)
end
function delay() return pause end
""" + harness.WRK_SUMMARY_LUA

BARE_APP = """
from flask import Flask, redirect, request
app = Flask(__name__)

@app.route("/", methods=["GET", "POST"])
def bare():
    request.form.get("email")
    return redirect("/aangemeld", code=303)
"""


def seed_campaign() -> None:
    """One open rolling campaign on a one-question set: the signup form's target."""
    from quiz import create_app
    from quiz.db import database, session_scope
    from quiz.models import Campaign, Option, Question, QuestionSet

    app = create_app(harness.config())
    now = datetime.now(UTC)
    with session_scope(app) as s:
        qs = QuestionSet(slug="bench", version=1, title="Bench", created_at=now, updated_at=now)
        q = Question(position=1, title="Vraag", body="?", explanation="-", discussion_prompt="-")
        q.options.append(Option(position=1, label="A", text="Ja", is_correct=True))
        qs.questions.append(q)
        s.add(qs)
        s.flush()
        s.add(Campaign(slug="bench", name="Bench", question_set_id=qs.id, start_mode="rolling",
                       send_time=dtime(7, 30), skip_dates=[], created_at=now, public=True))  # fmt: skip
        s.commit()
    database(app).dispose()


def session_and_token(url: str) -> tuple[str, str]:
    """A session cookie and the CSRF token of the signup form, as a browser gets them."""
    with urllib.request.urlopen(url + "/") as response:
        page = response.read().decode()
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    return cookie, token.group(1)


def write_lines(path: Path, token: str) -> None:
    with path.open("w") as out:
        for i in range(REQUESTS):
            fields = {"csrf_token": token, "email": f"deelnemer{i}@example.org"}
            fields |= {"organisation": "Basisschool De Linde", "sector": "onderwijs", "consent": "y"}
            body = urlencode(fields)
            out.write(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255} {body}\n")


def count_participants() -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(DB_URL)
    with engine.connect() as conn:
        n = conn.scalar(text("SELECT count(*) FROM participant"))
        queued = conn.scalar(text("SELECT count(*) FROM delivery WHERE kind = 'confirm'"))
    engine.dispose()
    assert n == queued, f"{n} participants but {queued} confirmation emails queued"
    return int(n)


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: `apt-get install -y wrk` (make bench does this)")
    work = Path(tempfile.mkdtemp(prefix="bench-signup-"))
    lua, lines = work / "signup.lua", work / "signups.txt"
    lua.write_text(WRK_LUA)
    (work / "bare_signup.py").write_text(BARE_APP)
    load_before = os.getloadavg()[0]
    print(f"Preparing {DB_URL.rsplit('@', 1)[-1]} …", flush=True)
    harness.prepare_database()
    seed_campaign()

    env = {**os.environ, **{k: str(v) for k, v in harness.config().items() if k != "QUIZ_IGNORE_DOTENV"}}
    env["QUIZ_PROXY_HOPS"] = "1"
    proc, url = harness.start_server("wsgi:app", env, work / "gunicorn-app.log")
    try:
        cookie, token = session_and_token(url)
        write_lines(lines, token)
        os.environ["BENCH_COOKIE"] = cookie  # harness.wrk passes os.environ on to wrk
        harness.wrk(url, lua, lines, 0, 2)  # warm-up
        used = count_participants()
        full = harness.wrk(url, lua, lines, used, harness.DURATION)
        stored = count_participants() - used
    finally:
        harness.stop(proc)

    bare_env = {**env, "PYTHONPATH": str(work)}
    proc, bare_url = harness.start_server("bare_signup:app", bare_env, work / "bare.log")
    try:
        harness.wrk(bare_url, lua, lines, 0, 2)
        bare = harness.wrk(bare_url, lua, lines, 0, harness.DURATION)
    finally:
        harness.stop(proc)

    figures = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "signups_per_s": stored / full["seconds"],
        "requests_per_s": full["rate"],
        "p50": full["p50_ms"],
        "p99": full["p99_ms"],
        "errors": full["errors"],
        "bare_per_s": bare["rate"],
        "bare_p50": bare["p50_ms"],
        "bare_p99": bare["p99_ms"],
    }
    print(json.dumps(figures, indent=2))
    write_docs(figures)


def write_docs(f: dict) -> None:
    ratio = f["signups_per_s"] / f["bare_per_s"]
    section = f"""{START}
## Signing up (`bench/signup.py`)

The web process as the Procfile starts it, on PostgreSQL, with CSRF and the rate
limits on (counters in Redis, as in production) behind a pretend proxy: wrk
({harness.CONNECTIONS} connections) POSTs the signup form with a new address from a new
client address each time; every request stores a pending participant and queues
the confirmation email in one transaction, and answers 303. Baseline, same run and
gunicorn: a bare Flask route that reads the form and redirects. {harness.DURATION} s each;
run {f["date"]}, load average {f["load_before"]:.1f} before.

| run | rate | p50 | p99 |
|---|---|---|---|
| signups stored, flat out | **{f["signups_per_s"]:,.0f}/s** | {f["p50"]:.1f} ms | {f["p99"]:.1f} ms |
| bare Flask route, flat out | {f["bare_per_s"]:,.0f}/s | {f["bare_p50"]:.1f} ms | {f["bare_p99"]:.1f} ms |
| signups ÷ bare route | {ratio:.2f} | | |

No target in issue 18. Errors (non-2xx/3xx, timeouts): {f["errors"]}; every stored
participant has exactly one queued confirmation (checked).
{END}"""
    write_section(START, END, section)
    print(section)


if __name__ == "__main__":
    main()
