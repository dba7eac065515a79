"""Benchmark: N participants due at once on PostgreSQL, drained to a local SMTP sink.

    make bench                       # N = 100,000
    .venv/bin/python bench/send.py -n 20000 --sinks smtp-sink

Reports, per sink: the planner's time, end-to-end messages/s of the real
sender (`quiz.delivery.sender.send_due`: claim, render the personalised question email,
build, SMTP, record) in `-p` processes side by side, as that many scheduler
processes send (one SMTP connection each), with the peak RSS of the largest,
and the transport limit measured in the same run: plain smtplib sending N
pre-rendered messages over the same number of connections (and, for
comparison, the sender's SMTP transport, `quiz.delivery.mailer.SMTPTransport`, sending
the same). The database is QUIZ_BENCH_DATABASE_URL
(default: a `quiz_bench` database on the local PostgreSQL, emptied first).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/quiz_bench"
START = date(2026, 11, 16)
NOW = datetime(2026, 11, 16, 6, 30, 5, tzinfo=UTC)  # 07:30:05 in Amsterdam


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no SMTP sink on port {port}")


def app_config(url: str, port: int) -> dict:
    return {
        "QUIZ_IGNORE_DOTENV": True,
        "QUIZ_ENV": "testing",
        "QUIZ_SECRET_KEY": "bench-secret",
        "QUIZ_DATABASE_URL": url,
        "QUIZ_MAIL_BACKEND": "smtp",
        "QUIZ_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "QUIZ_BASE_URL": "https://meldcodequiz.example.nl",
        "QUIZ_OUTBOX_BATCH_SIZE": 500,
    }


# --- setup -----------------------------------------------------------------


def ensure_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def populate(url: str, n: int) -> None:
    """Migrate, import the shipped question set, add a campaign and N active participants."""
    from sqlalchemy import select

    from quiz import create_app
    from quiz.cli.database import upgrade
    from quiz.db import database, session_scope
    from quiz.models import Campaign
    from quiz.questionsets.schema import validate_bytes
    from quiz.questionsets.store import import_set

    app = create_app(app_config(url, 25))
    upgrade(app)
    with app.app_context(), session_scope(app) as session:
        path = ROOT / "questions" / "meldcode.toml"
        validated = validate_bytes(path.read_bytes(), path.name)
        result = import_set(session, validated.data, NOW)
        qs_id = result.question_set.id
        session.add(
            Campaign(
                slug="bench",
                name="MeldcodeQuiz",
                question_set_id=qs_id,
                start_mode="fixed",
                start_date=START,
                send_time=clock_time(7, 30),
                timezone="Europe/Amsterdam",
                skip_dates=[],
                created_at=NOW,
            )
        )
        session.commit()
        campaign_id = session.scalar(select(Campaign.id))
    raw = database(app).engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(
            "COPY participant (campaign_id, email, name, organisation, sector, status, consent_at,"
            " consent_version, created_at, confirmed_at, first_quiz_day, status_changed_at) FROM STDIN"
        ) as copy:
            for i in range(n):
                copy.write_row(
                    (
                        campaign_id,
                        f"deelnemer{i}@example.org",
                        f"Deelnemer {i} de Vries",
                        "Basisschool De Linde",
                        "onderwijs",
                        "active",
                        NOW,
                        "bench",
                        NOW,
                        NOW,
                        START,
                        NOW,
                    )
                )
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    database(app).dispose()


def timed_plan(url: str) -> tuple[float, int]:
    from quiz import create_app
    from quiz.db import database
    from quiz.delivery.sender import plan_due

    app = create_app(app_config(url, 25))
    started = time.perf_counter()
    report = plan_due(app, NOW)
    elapsed = time.perf_counter() - started
    database(app).dispose()
    return elapsed, report.total


def reset_outbox(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE delivery SET status='pending', attempts=0, sent_at=NULL, message_id=NULL,"
                " claimed_by=NULL, claimed_until=NULL, last_error=NULL"
            )
        )
        conn.execute(text("UPDATE participant SET status='active'"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE delivery"))
    engine.dispose()


# --- the senders, each in a process of its own, as scheduler processes are ---


def sender_main(url: str, port: int) -> None:
    from quiz import create_app
    from quiz.delivery.sender import send_due

    app = create_app(app_config(url, port))
    started = time.time()  # wall clock: the parent compares the processes' spans
    report = send_due(app, lambda: NOW, f"bench:{os.getpid()}")
    ended = time.time()
    print(
        json.dumps(
            {
                "sent": report.sent,
                "failed": report.failed,
                "deferred": report.deferred,
                "started": started,
                "ended": ended,
                "errors": report.errors[:3],
            }
        )
    )


def run_senders(url: str, port: int, processes: int) -> dict:
    """`processes` senders side by side on one outbox; their figures together."""
    machine_before = machine_cpu_seconds()
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--sender", "--url", url, "--port", str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outs = []
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        out = json.loads(proc.stdout.read().strip().splitlines()[-1])
        out |= {"rss": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime, "exit": status}
        outs.append(out)
    wall = time.perf_counter() - started
    # Whether the cores were the limit, and how much of them the senders had:
    # the rest is PostgreSQL, the sink and whatever else runs.
    machine_seconds = machine_cpu_seconds() - machine_before
    cpu = sum(o["cpu"] for o in outs)
    return {
        "sent": sum(o["sent"] for o in outs),
        "failed": sum(o["failed"] for o in outs),
        "deferred": sum(o["deferred"] for o in outs),
        # from the first process's start of sending to the last one's end (no interpreter start-up)
        "seconds": max(o["ended"] for o in outs) - min(o["started"] for o in outs),
        "errors": [e for o in outs for e in o["errors"]][:3],
        "wall_seconds": wall,
        "peak_rss_mb": max(o["rss"] for o in outs),
        # CPU time per message says whether the senders are CPU-bound (compare
        # it with the wall time). On shared cores it still moves with the load.
        "cpu_seconds": cpu,
        "machine_cores": machine_seconds / wall,
        "sender_cores": cpu / wall,
        "exit": max(o["exit"] for o in outs),
    }


# --- the transport limit ------------------------------------------------------


def sample_message() -> bytes:
    """One real personalised question email, pre-rendered once."""
    return Path(os.environ.get("BENCH_SAMPLE", "")).read_bytes()


def _pre_rendered_rate(n: int, connections: int, worker) -> float:  # noqa: ANN001
    """Messages/s of `worker(count)` run in one thread per connection, N messages in all."""
    per = [n // connections + (1 if i < n % connections else 0) for i in range(connections)]
    threads = [threading.Thread(target=worker, args=(c,)) for c in per]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return n / (time.perf_counter() - started)


def transport_limit(port: int, n: int, connections: int, data: bytes) -> float:
    """The issue's transport limit: plain smtplib `sendmail`, pre-rendered messages."""

    def worker(count: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as s:
            for i in range(count):
                s.sendmail("quiz@meldcodequiz.example.nl", [f"deelnemer{i}@example.org"], data)

    return _pre_rendered_rate(n, connections, worker)


def own_client_rate(port: int, n: int, connections: int, data: bytes) -> float:
    """The same through the sender's transport (quiz.delivery.mailer.SMTPTransport, smtplib
    with the refusal handling around it): what is left of the limit for
    everything the sender does besides SMTP."""
    from quiz.delivery.mailer import SMTPTransport, parse_smtp_url

    def worker(count: int) -> None:
        with SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}")) as t:
            for i in range(count):
                t.send("quiz@meldcodequiz.example.nl", f"deelnemer{i}@example.org", data)

    return _pre_rendered_rate(n, connections, worker)


def render_sample(url: str) -> bytes:
    """The first question email as the sender builds it (for the transport limit)."""
    from sqlalchemy import select

    from quiz import create_app
    from quiz.db import database, session_scope
    from quiz.delivery.emails import context_for
    from quiz.delivery.mail_templates import render_email
    from quiz.delivery.mailer import Envelope, build_message
    from quiz.models import Delivery

    app = create_app(app_config(url, 25))
    with app.app_context(), session_scope(app) as session:
        d = session.scalar(select(Delivery).order_by(Delivery.id).limit(1))
        ctx = context_for(d, NOW)
        data = build_message(
            render_email("question", ctx),
            Envelope(d.participant.email, d.participant.name, "<bench@x>", ctx["headers"]),
            app.config["QUIZ_MAIL_FROM"],
            NOW,
        )
    database(app).dispose()
    return data


# --- sinks --------------------------------------------------------------------


def start_sink(kind: str, port: int) -> subprocess.Popen:
    if kind == "smtp-sink":
        binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        args = [binary]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]  # smtp-sink refuses to run as root otherwise
        # smtp-sink forks when it drops privileges: own session, so stop_sink ends both
        proc = subprocess.Popen([*args, f"127.0.0.1:{port}", "1000"], start_new_session=True)
    else:
        code = (
            "import asyncio, sys\n"
            "from aiosmtpd.controller import Controller\n"
            "class H:\n"
            "    async def handle_DATA(self, server, session, envelope):\n"
            "        return '250 OK'\n"
            f"c = Controller(H(), hostname='127.0.0.1', port={port}); c.start()\n"
            "import signal; signal.sigwait({signal.SIGTERM, signal.SIGINT}); c.stop()\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    wait_for_port(port)
    return proc


def stop_sink(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=100_000, help="participants (default 100,000)")
    parser.add_argument(
        "-p", "--processes", type=int, default=2, help="sender processes, one SMTP connection each"
    )
    parser.add_argument("--sinks", default="smtp-sink,aiosmtpd")
    parser.add_argument("--url", default=os.environ.get("QUIZ_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        sender_main(args.url, args.port)
        return

    print(f"# {args.n:,} participants, {args.processes} sender processes, {os.cpu_count()} CPUs")
    ensure_database(args.url)
    started = time.perf_counter()
    populate(args.url, args.n)
    print(f"setup: {time.perf_counter() - started:.1f} s")
    plan_s, planned = timed_plan(args.url)
    print(f"planner: {planned:,} question deliveries in {plan_s:.2f} s")
    assert planned == args.n, planned
    sample = render_sample(args.url)
    print(f"message size: {len(sample):,} bytes")
    runs: list[dict] = []
    for sink in args.sinks.split(","):
        port = free_port()
        proc = start_sink(sink, port)
        try:
            reset_outbox(args.url)
            result = run_senders(args.url, port, args.processes)
            limit = transport_limit(port, args.n, args.processes, sample)
            own = own_client_rate(port, args.n, args.processes, sample)
        finally:
            stop_sink(proc)
        rate = result["sent"] / result["seconds"]
        print(
            f"{sink}: sent {result['sent']:,} (failed {result['failed']}, deferred {result['deferred']}) "
            f"in {result['seconds']:.1f} s = {rate:,.0f} msg/s "
            f"(process wall {result['wall_seconds']:.1f} s); "
            f"largest sender's peak RSS {result['peak_rss_mb']:.0f} MB; "
            f"sender CPU {result['cpu_seconds'] / max(result['sent'], 1) * 1e6:.0f} µs/msg (incl. start-up); "
            f"transport limit {limit:,.0f} msg/s; ratio {rate / limit:.2f}; "
            f"own client, pre-rendered {own:,.0f} msg/s; "
            f"cores busy while sending {result['machine_cores']:.2f} (sender {result['sender_cores']:.2f}); "
            f"load {os.getloadavg()[0]:.1f}"
        )
        if result["errors"]:
            print("  errors:", result["errors"])
        runs.append(
            {**result, "sink": sink, "rate": rate, "limit": limit, "own": own, "load": os.getloadavg()[0]}
        )
    write_latest_run(args.n, args.processes, plan_s, runs)


from benchdocs import write_section  # noqa: E402  (bench/ is on the path when a script runs)
from machine import machine_cpu_seconds  # noqa: E402

SECTION_END = "<!-- send-bench:end -->"
HEADER = (
    "| N | sink | planner | sender | sender CPU / msg | sender peak RSS "
    "| transport limit | ratio | own client | cores busy (sender) | load |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)
RUN_START, RUN_END = "<!-- send-run:start -->", "<!-- send-run:end -->"


def write_latest_run(n: int, processes: int, plan_s: float, runs: list[dict]) -> None:
    """Put this run's figures at the end of the sending section of
    docs/benchmarks.md; the measured analysis around it stays as written."""
    rows = "\n".join(
        f"| {n:,} | {r['sink']} | {plan_s:.2f} s | **{r['rate']:,.0f} msg/s** ({r['seconds']:.1f} s) "
        f"| {r['cpu_seconds'] / max(r['sent'], 1) * 1e6:,.0f} µs | {r['peak_rss_mb']:.0f} MB "
        f"| {r['limit']:,.0f} msg/s | {r['rate'] / r['limit']:.2f} "
        f"| {r['own']:,.0f} msg/s | {r['machine_cores']:.2f} ({r['sender_cores']:.2f}) | {r['load']:.1f} |"
        for r in runs
    )
    verdict = (
        "met" if min((r["rate"] for r in runs if r["sink"] == "smtp-sink"), default=0) >= 1700 else "not met"
    )
    # the command as run (make bench runs it as bench/send.py -n 100000)
    command = " ".join(["bench/send.py", *sys.argv[1:]])
    block = f"""{RUN_START}
### Latest run (`{command}`, {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})

{processes} sender processes (one SMTP connection each, as scheduler processes send),
{os.cpu_count()} CPUs. Target ≥ 1,700 msg/s with smtp-sink: **{verdict}**.

{HEADER}
{rows}

Transport limit: plain smtplib `sendmail`, the pre-rendered message, the same connections
(the issue's baseline; ratio = sender ÷ this). Own client: the same through the
sender's transport (`quiz.delivery.mailer.SMTPTransport`, smtplib). Cores busy: the
whole machine's CPU time while the sender ran ÷ its wall time ({os.cpu_count()} cores
in all), the sender's own share in brackets.
{RUN_END}"""
    write_section(RUN_START, RUN_END, block, before=SECTION_END)


if __name__ == "__main__":
    main()
