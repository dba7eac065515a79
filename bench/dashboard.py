"""Benchmark: the organisers' campaign dashboard at 100,000 participants on PostgreSQL.

What runs:
- its own PostgreSQL database (quiz_bench_dashboard), emptied and migrated;
- one campaign with the shipped 5-question set and BENCH_PARTICIPANTS
  participants (default 100,000) made with INSERT … SELECT generate_series:
  seven sectors, about 3,000 organisations of very different sizes, the usual
  statuses (pending, active, completed, unsubscribed, bounced), answers that
  thin out from day 1 to day 5 (about 330,000), a third discussed, and one
  confirm plus five question deliveries per participant (600,000), some failed;
  repeat answers (issue 21) for half the participants' answered questions,
  a second round for a tenth (about 180,000);
- `quiz.admin.figures.build` (every figure of the page), the retention
  figure (`quiz.admin.learning.retention`) and the whole page
  (GET /admin/campagnes/<id> as a logged-in organiser: queries, SVG charts,
  template), each run BENCH_RUNS times after one warm-up run;
- the item analysis of the set's version (`quiz.admin.item_analysis.analyse_set`)
  and its page (GET /admin/vragensets/<id>/itemanalyse), the same way.

Target (issues 18 and 21): each page under 1 s at 100,000 participants; the
slowest of the runs counts. Writes the "dashboard-bench" section of
docs/benchmarks.md; where `build` spends its time (per statement) only when
the target is missed. Run: `make bench` or
`.venv/bin/python bench/dashboard.py`. BENCH_KEEP_DATA=1 measures the data
a previous run left (same BENCH_PARTICIPANTS) instead of seeding again:
seeding takes longer than the measurement when trying one query change after
another.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdocs import database_url, verdict, write_section  # noqa: E402  (bench/ is on the path)
from sqlalchemy import create_engine, event, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DB_URL = database_url("quiz_bench_dashboard")
PARTICIPANTS = int(os.environ.get("BENCH_PARTICIPANTS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
KEEP_DATA = os.environ.get("BENCH_KEEP_DATA", "") == "1"
TARGET_SECONDS = 1.0
TABLES = ("participant", "answer", "delivery", "repeat_answer")

START, END = "<!-- dashboard-bench:start -->", "<!-- dashboard-bench:end -->"


def ensure_database(url: str, empty: bool = True) -> None:
    """Create the benchmark's own database when it does not exist; empty it."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    if not empty:
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


SEED = """
INSERT INTO participant (campaign_id, email, name, organisation, sector, role, status, consent_at,
                         consent_version, created_at, confirmed_at, first_quiz_day, status_changed_at)
SELECT :campaign, 'p' || g || '@example.org', 'Deelnemer ' || g,
       -- a few big organisations, many small ones: sizes follow g's square root
       'Organisatie ' || (floor(sqrt(g * 90.0)))::int % 3000,
       (ARRAY['onderwijs','kinderopvang','jeugdhulp','gezondheidszorg',
              'maatschappelijke_ondersteuning','justitie','anders'])[1 + g % 7],
       NULL,
       CASE WHEN g % 100 < 5 THEN 'pending' WHEN g % 100 < 7 THEN 'unsubscribed'
            WHEN g % 100 < 8 THEN 'bounced' WHEN g % 100 < 40 THEN 'completed' ELSE 'active' END,
       :now, 'v1', :now,
       CASE WHEN g % 100 < 5 THEN NULL ELSE :now END,
       DATE '2026-11-16', :now
FROM generate_series(1, :n) AS g;

INSERT INTO answer (participant_id, question_id, option_id, answered_at, source, discussed_at)
SELECT p.id, q.id,
       (SELECT o.id FROM option o WHERE o.question_id = q.id
         ORDER BY o.position OFFSET (p.id * 7 + q.position) % 3 LIMIT 1),
       :now, 'confirmed',
       CASE WHEN (p.id + q.position) % 3 = 0 THEN :now END
FROM participant p JOIN question q ON q.question_set_id = :set
WHERE p.campaign_id = :campaign AND p.confirmed_at IS NOT NULL
  AND p.id % 100 < 90 - 12 * (q.position - 1);

INSERT INTO delivery (participant_id, kind, day, question_id, due_at, status, attempts, created_at,
                      last_error)
SELECT p.id, 'confirm', 0, NULL, :now, 'sent', 1, :now, NULL
FROM participant p WHERE p.campaign_id = :campaign;

INSERT INTO delivery (participant_id, kind, day, question_id, due_at, status, attempts, created_at,
                      last_error)
SELECT p.id, 'question', q.position, q.id, :now,
       CASE WHEN (p.id + q.position) % 400 = 0 THEN 'failed'
            WHEN q.position = 5 AND p.id % 10 = 0 THEN 'pending' ELSE 'sent' END,
       1, :now,
       CASE WHEN (p.id + q.position) % 400 = 0 THEN '550 5.1.1 No such user' END
FROM participant p JOIN question q ON q.question_set_id = :set
WHERE p.campaign_id = :campaign AND p.confirmed_at IS NOT NULL;

INSERT INTO repeat_answer (participant_id, question_id, round, option_id, answered_at, source)
SELECT a.participant_id, a.question_id, r.round,
       (SELECT o.id FROM option o WHERE o.question_id = a.question_id
         ORDER BY o.position OFFSET (a.participant_id * 3 + r.round) % 2 LIMIT 1),
       :now, 'confirmed'
FROM answer a JOIN participant p ON p.id = a.participant_id
CROSS JOIN (VALUES (1), (2)) AS r(round)
WHERE p.campaign_id = :campaign AND a.participant_id % 2 = 0
  AND (r.round = 1 OR a.participant_id % 10 = 0);
"""


def seed(app) -> tuple[int, dict[str, int]]:  # noqa: ANN001
    from quiz.admin.organisers import create_organiser
    from quiz.db import session_scope, utcnow
    from quiz.models import Campaign
    from quiz.questionsets import validate_bytes
    from quiz.questionsets.store import import_set

    now = utcnow()
    with session_scope(app) as s:
        data = validate_bytes((ROOT / "questions" / "meldcode.toml").read_bytes(), "meldcode.toml").data
        question_set = import_set(s, data, now).question_set
        campaign = Campaign(
            slug="bench",
            name="Benchmark",
            question_set_id=question_set.id,
            start_mode="rolling",
            repeats="all",
            created_at=now,
        )
        campaign.skip_dates = []
        s.add(campaign)
        s.commit()
        create_organiser(s, "bench@example.org", "bench-password-123", now)
        params = {"campaign": campaign.id, "set": question_set.id, "now": now, "n": PARTICIPANTS}
        for statement in SEED.split(";\n\n"):
            if statement.strip():
                s.execute(text(statement), params)
        s.commit()
        counts = {table: s.scalar(text(f"SELECT count(*) FROM {table}")) for table in TABLES}
        s.connection().exec_driver_sql("ANALYZE")
        s.commit()
        return campaign.id, counts


def seeded_before(app) -> tuple[int, dict[str, int]] | None:  # noqa: ANN001
    """The campaign and row counts a previous run left, when it had as many participants."""
    from sqlalchemy.exc import ProgrammingError

    from quiz.db import session_scope
    from quiz.models import Campaign

    with session_scope(app) as s:
        try:
            campaign_id = s.scalar(select(Campaign.id).where(Campaign.slug == "bench"))
        except ProgrammingError:  # an empty database: no tables yet
            return None
        counts = {table: s.scalar(text(f"SELECT count(*) FROM {table}")) for table in TABLES}
    return (campaign_id, counts) if campaign_id and counts["participant"] == PARTICIPANTS else None


# Which figure a statement of quiz.admin.figures.build computes, by a piece of its SQL.
# The first piece found names it: the failures' statement selects participant.status too.
STATEMENTS = [
    ("delivery.id", "the latest failures"),
    ("participant.sector", "sectors and organisations (answers per participant)"),
    ("answer.question_id, answer.option_id", "answers per question and option"),
    ("delivery.kind, delivery.status", "deliveries by kind and status"),
    ("participant.status", "funnel: participants by status"),
]
OTHER_STATEMENTS = "the rest (campaign, questions, options, SET work_mem)"


@contextmanager
def timing_statements(engine, times: dict[str, list[float]]) -> Iterator[None]:  # noqa: ANN001
    """Add each statement's time (execute and fetch) to times[its figure]."""
    started: list[float] = []

    def before(*_args: object) -> None:
        started.append(time.perf_counter())

    def after(conn, cursor, statement: str, *_args: object) -> None:  # noqa: ANN001
        label = next((name for piece, name in STATEMENTS if piece in statement), OTHER_STATEMENTS)
        times[label].append(time.perf_counter() - started.pop())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


class CpuClock:
    """CPU seconds used by this process and the PostgreSQL backends of its
    connections (read from /proc: the server runs on this machine).

    On a shared machine under load the wall clock also measures the
    neighbours; CPU time is the work a page costs, close to its wall time on
    an idle machine. Parallel query is switched off on these connections so
    that no work hides in a parallel worker's process."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.pids: set[int] = set()
        self.engine = engine
        event.listen(engine, "connect", self._connect)
        engine.dispose()  # the pool's connections from now on go through _connect

    def _connect(self, dbapi_connection, _record) -> None:  # noqa: ANN001
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.pids.add(cursor.fetchone()[0])
            cursor.execute("SET max_parallel_workers_per_gather = 0")
        dbapi_connection.commit()

    def __call__(self) -> float:
        ticks = 0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:  # a connection the pool closed
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return time.process_time() + ticks / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        event.remove(self.engine, "connect", self._connect)
        self.engine.dispose()


def timed(fn, runs: int, after_warm_up=lambda: None, clock=time.perf_counter) -> list[float]:  # noqa: ANN001
    fn()  # warm-up: connection, caches, first query plans
    after_warm_up()
    out = []
    for _ in range(runs):
        start = clock()
        fn()
        out.append(clock() - start)
    return out


def main() -> None:
    from quiz import create_app
    from quiz.admin.figures import build, campaign_questions
    from quiz.admin.item_analysis import analyse_set
    from quiz.admin.learning import retention
    from quiz.cli.database import upgrade
    from quiz.db import database, session_scope
    from quiz.models import Campaign, QuestionSet

    ensure_database(DB_URL, empty=not KEEP_DATA)
    app = create_app(
        {
            "QUIZ_IGNORE_DOTENV": True,
            "QUIZ_ENV": "testing",
            "QUIZ_SECRET_KEY": "bench",
            "QUIZ_DATABASE_URL": DB_URL,
            "WTF_CSRF_ENABLED": False,
        }
    )
    kept = seeded_before(app) if KEEP_DATA else None
    if kept is None and KEEP_DATA:
        ensure_database(DB_URL)
    upgrade(app)
    seeded: float | None = None
    if kept is not None:
        campaign_id, counts = kept
        print(f"kept {counts} from a previous run", flush=True)
    else:
        started = time.perf_counter()
        campaign_id, counts = seed(app)
        seeded = time.perf_counter() - started
        print(f"seeded {counts} in {seeded:.1f} s", flush=True)

    statement_times: dict[str, list[float]] = defaultdict(list)

    def figures() -> None:
        with session_scope(app) as s, timing_statements(database(app).engine, statement_times):
            build(s, s.scalar(select(Campaign).where(Campaign.id == campaign_id)))

    client = app.test_client()
    login = client.post(
        "/admin/inloggen", data={"email": "bench@example.org", "password": "bench-password-123"}
    )
    assert login.status_code == 302, login.status_code

    def page() -> None:
        response = client.get(f"/admin/campagnes/{campaign_id}")
        assert response.status_code == 200 and "Van aanmelding tot de laatste vraag" in response.text

    def retention_figures() -> None:
        with session_scope(app) as s:
            campaign = s.get(Campaign, campaign_id)
            retention(s, campaign, campaign_questions(s, campaign))

    with session_scope(app) as s:
        set_id = s.get(Campaign, campaign_id).question_set_id

    def items() -> None:
        with session_scope(app) as s:
            analyse_set(s, s.get(QuestionSet, set_id))

    def items_page() -> None:
        response = client.get(f"/admin/vragensets/{set_id}/itemanalyse")
        assert response.status_code == 200 and "Onderscheidend vermogen" in response.text
        assert "Te weinig deelnemers" not in response.text

    load_before = os.getloadavg()[0]
    times = {
        "build": timed(figures, RUNS, after_warm_up=statement_times.clear),
        "retention": timed(retention_figures, RUNS),
        "page": timed(page, RUNS),
        "items": timed(items, RUNS),
        "items_page": timed(items_page, RUNS),
    }
    cpu = CpuClock(database(app).engine)
    cpu_times = {
        "page": timed(page, RUNS, clock=cpu),
        "items_page": timed(items_page, RUNS, clock=cpu),
    }
    cpu.close()
    report(counts, times, cpu_times, statement_times, load_before)


def report(
    counts: dict[str, int],
    times: dict[str, list[float]],
    cpu_times: dict[str, list[float]],
    statement_times: dict[str, list[float]],
    load_before: float,
) -> None:
    def ms(values: list[float], bold: str = "") -> str:
        median, slowest = statistics.median(values) * 1000, max(values) * 1000
        return f"{bold}{median:,.0f} ms{bold} | {slowest:,.0f} ms"

    def ratio(values: list[float]) -> float:
        return max(values) / TARGET_SECONDS

    page_met = ratio(times["page"]) < 1
    items_met = ratio(times["items_page"]) < 1
    smoke = "" if PARTICIPANTS == 100_000 else f" A smoke run of {PARTICIPANTS:,}: the target is for 100,000."
    per_statement = "\n".join(
        f"| {label} | {statistics.median(values) * 1000:,.0f} ms |"
        for label, values in sorted(statement_times.items(), key=lambda item: -statistics.median(item[1]))
    )
    where = f"""
Where `quiz.admin.figures.build` spends its time (median per statement, execute and fetch):

| statement | median |
|---|---|
{per_statement}
"""
    section = f"""{START}
## Organisers' dashboard and item analysis (`bench/dashboard.py`)

One campaign on PostgreSQL with {counts["participant"]:,} participants, {counts["answer"]:,} answers,
{counts["repeat_answer"]:,} repeat answers and {counts["delivery"]:,} deliveries; the campaign page and
the item-analysis page of its question set as a logged-in organiser (Flask's
test client: every figure in grouped queries, the SVG charts, the template),
{RUNS} runs each after a warm-up. Baseline: the target (there is no other).
Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load_before:.1f} before.

| what | median | slowest |
|---|---|---|
| `quiz.admin.figures.build` (the dashboard's figures) | {ms(times["build"])} |
| `quiz.admin.learning.retention` (retention figure, on the dashboard) | {ms(times["retention"])} |
| whole dashboard page | {ms(times["page"], "**")} |
| `quiz.admin.item_analysis.analyse_set` (every question and option) | {ms(times["items"])} |
| whole item-analysis page | {ms(times["items_page"], "**")} |
| dashboard page, CPU time (this process + its PostgreSQL backends, serial) | {ms(cpu_times["page"])} |
| item-analysis page, CPU time (the same) | {ms(cpu_times["items_page"])} |

Target: each page under {TARGET_SECONDS:.0f} s at 100,000 participants. Dashboard \
{verdict(page_met, f"{ratio(times['page']) - 1:.0%} over")}, slowest ÷ target {ratio(times["page"]):.2f};
item analysis {verdict(items_met, f"{ratio(times['items_page']) - 1:.0%} over")}, \
slowest ÷ target {ratio(times["items_page"]):.2f}. In CPU time, which the neighbours on a busy
machine do not inflate: dashboard slowest ÷ target {ratio(cpu_times["page"]):.2f}, item analysis \
{ratio(cpu_times["items_page"]):.2f}.{smoke}
{"" if page_met else where}{END}"""
    write_section(START, END, section)
    print(section)


if __name__ == "__main__":
    main()
