"""The top of docs/benchmarks.md: the machine, and how to read the page.

`make bench` runs this first, then every benchmark, each of which rewrites
its own marked section with its latest figures. Run alone:
`.venv/bin/python bench/header.py`.
"""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

from benchdocs import BENCH_DATABASE_URL, write_section

START, END = "<!-- bench-header:start -->", "<!-- bench-header:end -->"


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
        engine = create_engine(BENCH_DATABASE_URL or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
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
`make bench` of **{now:%Y-%m-%d %H:%M} UTC** on {cpu_model()}, {os.cpu_count()} cores,
{memory_gb()}, {os_name()}, Python {platform.python_version()}, {postgres_version()}
(load average {os.getloadavg()[0]:.1f} at the start). Everything runs on this one machine:
the load generator, the app, PostgreSQL and the SMTP sink. Each benchmark
measures its baseline in the same run and reports the ratio to it; compare
ratios, not rates, between machines. The targets are those of issue 18;
earlier runs and their analyses are in this file's git history.
{END}"""
    write_section(START, END, section, at_top=True)
    print(section)


if __name__ == "__main__":
    main()
