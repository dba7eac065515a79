"""No email addresses or link tokens in logs: the app's log and gunicorn's
access log exactly as the Procfile runs it."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from quiz.logs import RedactingFilter, hash_email, redact
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "WzEsMiwzXQ.aBcDeF.c2lnbmF0dXJlLXZhbHVlLWhlcmU"


def test_redact_hashes_addresses_and_drops_tokens():
    line = f'"GET /a/{TOKEN} HTTP/1.1" 200 to Jan.Jansen@Example.org via /mijn-quiz/{TOKEN}/vraag/2'
    out = redact(line)
    assert TOKEN not in out and "Jan.Jansen" not in out and "Example.org" not in out
    assert '"GET /a/<token> HTTP/1.1"' in out and "/mijn-quiz/<token>/vraag/2" in out
    # One address, one fingerprint, whatever its case: traceable without being readable.
    assert f"<e-mail #{hash_email('jan.jansen@example.org')}>" in out
    # Paths without tokens stay readable.
    assert redact("GET /admin/campagnes/3 200") == "GET /admin/campagnes/3 200"


def test_the_app_logs_through_the_filter(app, caplog):
    record = logging.LogRecord("quiz.sender", logging.WARNING, __file__, 1, "refused %s: %s", None, None)
    record.args = ("anna@example.org", f"/afmelden/{TOKEN}")
    assert RedactingFilter().filter(record)
    assert "anna@example.org" not in record.getMessage() and TOKEN not in record.getMessage()
    # Installed on the handlers the app's records go through.
    handlers = [*app.logger.handlers, *logging.getLogger().handlers]
    assert handlers and all(any(isinstance(f, RedactingFilter) for f in h.filters) for h in handlers)


def _procfile_web_command(port: int) -> list[str]:
    line = next(ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    command = line.split(":", 1)[1].strip()
    expanded = subprocess.run(
        ["bash", "-c", f"echo {command}"],
        env={**os.environ, "PORT": str(port)},
        capture_output=True,
        text=True,
    )
    return shlex.split(expanded.stdout)


def test_gunicorn_access_log_has_no_tokens_or_addresses(db_url, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "QUIZ_ENV": "production",
        "QUIZ_SECRET_KEY": "a-test-secret-for-the-access-log",
        "QUIZ_DATABASE_URL": db_url,
        "QUIZ_BASE_URL": f"http://127.0.0.1:{port}",
        "QUIZ_MAIL_BACKEND": "smtp",
        "WEB_CONCURRENCY": "1",
        "PORT": str(port),  # gunicorn.conf.py binds to it
    }
    log_path = tmp_path / "web.log"
    with log_path.open("w") as log:
        _serve_and_request(port, env, log, tmp_path)
    text = log_path.read_text()
    assert "GET /a/<token> HTTP/1.1" in text and "GET /afmelden/<token> HTTP/1.1" in text
    assert "/mijn-quiz/<token>/gegevens" in text
    assert TOKEN not in text
    assert "piet@example.org" not in text and "piet%40example.org" not in text
    assert text.count(f"GET /privacy?email=<e-mail #{hash_email('piet@example.org')}> HTTP/1.1") == 2


def _serve_and_request(port: int, env: dict, log, tmp_path: Path) -> None:
    server = subprocess.Popen(
        _procfile_web_command(port),
        cwd=ROOT,  # the Procfile runs from the project root (gunicorn.conf.py)
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=log,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30  # a loaded machine boots workers slowly
        while True:
            try:
                urllib.request.urlopen(base + "/privacy", timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "gunicorn exited at start; see its log"
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.1)
        for path in (
            f"/a/{TOKEN}",
            f"/mijn-quiz/{TOKEN}/gegevens",
            f"/afmelden/{TOKEN}",
            "/privacy?email=piet@example.org",
            "/privacy?email=piet%40example.org",
        ):
            # A 400 for the made-up token is fine; the log line is what counts.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(
                    urllib.request.Request(base + path, headers={"Referer": f"{base}/bevestig/{TOKEN}"}),
                    timeout=5,
                ).close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
