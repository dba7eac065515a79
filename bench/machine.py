"""CPU time as the whole machine sees it, for benchmarks on shared cores:
how busy the cores were during a run, and how much of that was the
benchmark's own processes rather than a neighbour's job."""

from __future__ import annotations

import os
from collections.abc import Callable


def machine_cpu_seconds() -> float:
    """CPU time used by everything on the machine so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]  # user .. steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def processes_cpu_seconds(include: Callable[[str, int], bool]) -> float:
    """CPU time (user + system) so far of the running processes for which
    `include(command name, session id)` is true, with that of their children
    which exited and were reaped: a gunicorn worker restarted after
    max_requests, a PostgreSQL backend whose connection closed. Without the
    latter, a worker's whole life would leave the sum when it exits, and a
    run in which workers were restarted would show that CPU as another job's."""
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:  # exited meanwhile
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if include(comm, int(rest[3])):  # rest[3]: the session id
            ticks += sum(map(int, rest[11:15]))  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")
