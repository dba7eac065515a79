"""The web process as the Procfile starts it: the app loaded once in
gunicorn's master, the workers forked from it (gunicorn.conf.py,
preload_app). A worker inherits every file its master holds open, so the
master must hold no connection and no database file: two workers talking
over one database or Redis connection would mix up each other's statements
and replies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import free_port, python_path
from tests.test_logs import _procfile_web_command

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/14"
_ESTABLISHED = "01"  # the state column of /proc/net/tcp


def _tcp_connections() -> dict[str, int]:
    """Socket inode -> remote port of every established TCP connection on the machine."""
    found: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == _ESTABLISHED:
                    found[fields[9]] = int(fields[2].rsplit(":", 1)[1], 16)
    return found


def _held(pid: int, database_file: Path | None) -> list[str]:
    """The TCP connections (by remote port) and SQLite files process `pid`
    holds open. (gunicorn's master also holds Unix sockets of its own, for
    its control interface; this test reaches the database and Redis over TCP.)"""
    tcp = _tcp_connections()
    held = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:[") and target[8:-1] in tcp:
            held.append(f"tcp connection to port {tcp[target[8:-1]]}")
        elif database_file is not None and target.startswith(str(database_file)):
            held.append(target)
    return held


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:  # exited meanwhile
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry))
    return found


def _get(url: str) -> int:
    """The status of a GET; 0 when nothing answers (yet)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_workers_fork_from_a_loaded_app_that_holds_no_connection(db_url, tmp_path):
    port = free_port()
    url = make_url(db_url)
    database_file = Path(url.database).resolve() if url.get_backend_name() == "sqlite" else None
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": python_path(ROOT),
        "QUIZ_ENV": "production",
        "QUIZ_SECRET_KEY": "a-test-secret-for-the-web-process",
        "QUIZ_DATABASE_URL": db_url,
        "QUIZ_BASE_URL": f"http://127.0.0.1:{port}",
        "QUIZ_MAIL_BACKEND": "smtp",
        "QUIZ_RATELIMIT_STORAGE_URL": REDIS_URL,  # as in production: a connection to keep out of the master
        "WEB_CONCURRENCY": "2",
        "PORT": str(port),
    }
    with (tmp_path / "web.log").open("w") as log:
        server = subprocess.Popen(
            _procfile_web_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while len(_children(server.pid)) < 2 or _get(base + "/healthz") != 200:
            assert server.poll() is None, f"gunicorn exited at start: {(tmp_path / 'web.log').read_text()}"
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.1)
        # The app is loaded in the master: its modules (SQLAlchemy's compiled
        # ones among them; gunicorn itself never imports SQLAlchemy) are
        # mapped there, not only in the workers.
        with open(f"/proc/{server.pid}/maps") as f:
            loaded = any("/sqlalchemy/" in line for line in f)
        assert loaded, "the app is not loaded in gunicorn's master (preload_app)"
        # Pages that use the database and the rate-limit counters (a bad
        # token counts in Redis; 429 once another run on this machine shares its counter).
        for _ in range(20):
            assert _get(base + "/readyz") == 200
            assert _get(base + "/a/not-a-token") in (400, 429)
        held_by_workers = [c for w in _children(server.pid) for c in _held(w, database_file)]
        assert held_by_workers, "the workers hold their own connections: the check sees them"
        assert _held(server.pid, database_file) == []
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)  # gunicorn's graceful_timeout is 20 s
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
