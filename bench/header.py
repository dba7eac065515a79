"""The header of docs/benchmarks.md: which machine, when, what each figure is compared with.

`make bench` runs this first, then every benchmark, each of which rewrites
its own marked section with figures and their ratio to a baseline measured
in the same run. Run alone: `.venv/bin/python bench/header.py`.
"""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from benchdocs import write_section  # noqa: E402  (bench/ is on the path when a script runs)

START, END = "<!-- bench-header:start -->", "<!-- bench-header:end -->"
PG_URL = os.environ.get("QUIZ_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else "unknown CPU"


def memory_gb() -> str:
    try:
        match = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        return f"{int(match.group(1)) / 1024 / 1024:.1f} GB RAM"
    except (OSError, AttributeError):
        return "unknown RAM"


def postgres_version() -> str:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            version = conn.scalar(text("SHOW server_version"))
        engine.dispose()
        return f"PostgreSQL {version.split()[0]}"
    except Exception as exc:  # noqa: BLE001 - the header must not stop the benchmarks
        return f"PostgreSQL (not reachable: {type(exc).__name__})"


def os_name() -> str:
    try:
        match = re.search(r'^PRETTY_NAME="(.+)"$', Path("/etc/os-release").read_text(), re.M)
        return match.group(1) if match else platform.system()
    except OSError:
        return platform.system()


def main() -> None:
    now = datetime.now(UTC)
    section = f"""{START}
Machine: {cpu_model()}, {os.cpu_count()} cores, {memory_gb()}, {os_name()}
(Linux {platform.release()}), Python {platform.python_version()}, {postgres_version()};
described **{now:%Y-%m-%d %H:%M} UTC**, load average {os.getloadavg()[0]:.1f}. `make bench` writes
this header first and then runs every benchmark, each of which rewrites its
own section below with its own date and load average.

Every benchmark below measures its baseline in the same run and on the same
machine, and reports the ratio to it:

| section | figure | baseline |
|---|---|---|
| Answering | confirmed answers/s under gunicorn | a bare route, same page size, same gunicorn |
| Signing up | signups stored/s under gunicorn | a bare route that reads the form and redirects |
| Sending | end-to-end messages/s of the real sender | plain smtplib, pre-rendered messages, same sink |
| Dashboard | page time at 100,000 participants | the < 1 s target |
| Scale-out | send rate with two scheduler processes | the same with one, same load, same run |
| DKIM signing | signature time per message | building the message |

Figures move with what else runs on the machine (see each section's load
average); compare ratios, not absolute rates, between machines.
{END}"""
    write_section(START, END, section, at_top=True)
    print(section)


if __name__ == "__main__":
    main()
