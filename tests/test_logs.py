"""No email addresses or link tokens in logs: the app's log and gunicorn's
access log exactly as the Procfile runs it."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter, PathConverter

from quiz import create_app
from quiz.db import database
from quiz.ops.logs import RedactingFilter, hash_email, redact
from quiz.urls import TokenConverter
from tests.conftest import free_port, python_path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "WzEsMiwzXQ.aBcDeF.c2lnbmF0dXJlLXZhbHVlLWhlcmU"


# Route arguments that are not credentials: the question set's slug, the dev
# mailbox's message key (development only) and the static files' name.
PUBLIC_ARGUMENTS = {"slug", "key", "filename"}


def token_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, path) for every method of every rule whose URL holds a token,
    the token being TOKEN: what the URL map itself says, nothing kept by hand
    (an argument named like a token counts too, converter or not)."""
    adapter = app.url_map.bind("localhost")
    requests = []
    for rule in app.url_map.iter_rules():
        converters = rule._converters  # werkzeug's own record of each argument's converter
        tokens = {n for n, c in converters.items() if isinstance(c, TokenConverter) or "token" in n}
        if not tokens:
            continue
        values = {
            name: TOKEN if name in tokens else 1 if isinstance(c, IntegerConverter) else "x"
            for name, c in converters.items()
        }
        path = adapter.build(rule.endpoint, values)
        requests += [(method, path) for method in sorted(rule.methods - {"OPTIONS", "HEAD"})]
    return requests


def test_every_route_argument_is_a_token_or_not_secret(app):
    """A path segment holding a signed link uses the token converter, so the
    logs know to redact it; every other argument is a number or public."""
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if name == "token" or "token" in name:
                assert isinstance(converter, TokenConverter), f"{rule.rule}: <{name}> is not <token:{name}>"
            elif not isinstance(converter, (TokenConverter, IntegerConverter, PathConverter)):
                assert name in PUBLIC_ARGUMENTS, f"{rule.rule}: is <{name}> a token?"
    paths = {path for _, path in token_routes(app)}
    # The URL map names every kind of signed link there is (quiz.tokens' purposes).
    assert {p.split("/")[1] for p in paths} >= {
        "a",
        "bevestig",
        "welkom",
        "mijn-quiz",
        "afmelden",
        "besproken",
        "voorbeeld",
    }


def test_redaction_follows_any_rule_with_token_segments(monkeypatch):
    """The pattern comes from the rules alone: a token after another variable,
    two tokens in one path, a converter registered under another name."""
    from werkzeug.routing import Map, Rule

    from quiz.ops import logs

    monkeypatch.setattr(logs, "_token_prefixes", set())  # this process's routes, restored after
    monkeypatch.setattr(logs, "_token_path", None)
    url_map = Map(
        [Rule("/set/<int:n>/<link:t>", endpoint="one"), Rule("/x/<link:a>/y/<link:b>", endpoint="two")],
        converters={"link": TokenConverter},
    )
    logs.learn_token_routes(url_map)
    assert logs.redact(f"GET /set/3/{TOKEN} /x/{TOKEN}/y/{TOKEN}?q=1") == (
        "GET /set/3/<token> /x/<token>/y/<token>?q=1"
    )
    assert logs.redact("/set/3") == "/set/3" and logs.redact("/x/abc") == "/x/<token>"


def test_the_apps_log_redacts_every_token_route(app_config):
    """Flask's own line for an unhandled error in a request names the path;
    for every token route, what the app's log handlers write holds no token."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # a handler the deployment configured
    logging.getLogger().addHandler(handler)
    try:
        app = create_app(app_config)  # puts the redacting filter on the handlers there are
        for method, path in token_routes(app):
            headers = {"Referer": f"http://quiz.test{path}"}
            with app.test_request_context(path, method=method, headers=headers):
                try:
                    raise RuntimeError(f"failed on {path}")
                except RuntimeError:
                    app.log_exception(sys.exc_info())  # type: ignore[arg-type]
        database(app).dispose()
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    assert text.count("Exception on /") == len(token_routes(app))
    assert "Exception on /besproken/<token> [POST]" in text
    assert "RuntimeError: failed on /mijn-quiz/<token>/wissen" in text  # the traceback too
    assert TOKEN not in text


def test_redact_hashes_addresses_and_drops_tokens(app):
    line = f'"GET /a/{TOKEN} HTTP/1.1" 200 to Jan.Jansen@Example.org via /mijn-quiz/{TOKEN}/vraag/2'
    out = redact(line)
    assert TOKEN not in out and "Jan.Jansen" not in out and "Example.org" not in out
    assert '"GET /a/<token> HTTP/1.1"' in out and "/mijn-quiz/<token>/vraag/2" in out
    # One address, one fingerprint, whatever its case: traceable without being readable.
    assert f"<e-mail #{hash_email('jan.jansen@example.org')}>" in out
    # Paths without tokens stay readable.
    assert redact("GET /admin/campagnes/3 200") == "GET /admin/campagnes/3 200"
    # A certificate code leads to a name: out of the log too, whatever else the query holds.
    assert redact('"GET /deelnamebewijs/controleren?code=K7QM-4XPD-9HT2 HTTP/1.1"') == (
        '"GET /deelnamebewijs/controleren?code=<code> HTTP/1.1"'
    )
    assert redact("/deelnamebewijs/controleren?x=1&code=k7qm+4xpd#top") == (
        "/deelnamebewijs/controleren?x=1&code=<code>#top"
    )


def test_the_app_logs_through_the_filter(app, caplog):
    record = logging.LogRecord(
        "quiz.delivery.sender", logging.WARNING, __file__, 1, "refused %s: %s", None, None
    )
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


def test_gunicorn_access_log_has_no_tokens_or_addresses(app, db_url, tmp_path):
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
    routes = token_routes(app)
    with log_path.open("w") as log:
        _serve_and_request(port, env, log, tmp_path, routes)
    text = log_path.read_text()
    assert "GET /a/<token> HTTP/1.1" in text and "GET /afmelden/<token> HTTP/1.1" in text
    assert "/mijn-quiz/<token>/gegevens" in text
    # Every method of every route that takes a token: its line is there, redacted.
    for method, path in routes:
        assert f"{method} {path.replace(TOKEN, '<token>')} HTTP/1.1" in text
    assert TOKEN not in text
    assert "piet@example.org" not in text and "piet%40example.org" not in text
    assert text.count(f"GET /privacy?email=<e-mail #{hash_email('piet@example.org')}> HTTP/1.1") == 2


def _serve_and_request(
    port: int, env: dict, log, tmp_path: Path, routes: Sequence[tuple[str, str]] = (("GET", f"/a/{TOKEN}"),)
) -> None:
    server = subprocess.Popen(
        _procfile_web_command(port),
        cwd=ROOT,  # the Procfile runs from the project root (gunicorn.conf.py)
        env={**env, "PYTHONPATH": python_path(ROOT)},
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
        for method, path in [
            *routes,
            ("GET", "/privacy?email=piet@example.org"),
            ("GET", "/privacy?email=piet%40example.org"),
        ]:
            # A 400 (or 429) for the made-up token is fine; the log line is what counts.
            # The Referer is a token page too (the browser's previous page).
            referer = f"{base}/besproken/{TOKEN}" if method == "GET" else base + path
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(
                    urllib.request.Request(
                        base + path,
                        method=method,
                        data=b"" if method == "POST" else None,
                        headers={"Referer": referer},
                    ),
                    timeout=5,
                ).close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
