"""The production shape, end to end: Debian's nginx running the site from
deploy/ (TLS with a certificate made here, then the proxy snippet) in front
of the Procfile's gunicorn with production settings and QUIZ_PROXY_HOPS=1,
on the suite's database (PostgreSQL in CI) and Redis, the scheduler's tick
as the `quiz tick` command, and a participant and an organiser in Debian's
Chromium.

Every form goes through nginx over https: signup, confirm, answer,
unsubscribe, erase, and the organisers' login and logout. Over https
Flask-WTF wants a same-origin Referer on each CSRF-protected POST, so a
Referrer-Policy that stops browsers from sending one (`no-referrer`) breaks
signup, confirm and login here, and only here: the Flask test client and
the plain-HTTP live server never show it. The same run checks that a page
with a token in its address does not hand that address to another site.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from redis import Redis
from sqlalchemy import select

from quiz.db import session_scope
from quiz.models import Answer, Organiser, Participant
from tests.answer_factories import links
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, python_path
from tests.test_browser_signup import sign_up
from tests.test_logs import _procfile_web_command

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
REDIS_URL = "redis://127.0.0.1:6379/13"
PASSWORD = "een lang wachtwoord voor de test"


def site_config(web_port: int, https_port: int, http_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx.conf with only its addresses and paths swapped for this
    run's. Each swap must find its line, so a change to the deployed site
    that this test no longer covers fails here instead of passing unseen."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    swaps = {
        "server 127.0.0.1:5000;": f"server 127.0.0.1:{web_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "server_name meldcodequiz.nl;": "server_name localhost;",
        "/etc/letsencrypt/live/meldcodequiz.nl/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/meldcodequiz.nl/privkey.pem": str(key),
        "alias /srv/meldcodequiz/quiz/static/;": f"alias {ROOT}/quiz/static/;",
        "/etc/nginx/snippets/meldcodequiz-proxy.conf": str(ROOT / "deploy" / "nginx-proxy.conf"),
    }
    for old, new in swaps.items():
        assert old in site, f"deploy/nginx.conf no longer has {old!r}: update this test with it"
        site = site.replace(old, new)
    return site


def main_config(tmp: Path, site: Path) -> str:
    """What /etc/nginx/nginx.conf gives a site, kept inside `tmp`."""
    user = "user root;" if os.geteuid() == 0 else ""  # workers read quiz/static/ in the checkout
    temp_paths = "\n".join(
        f"    {name}_temp_path {tmp / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
daemon off;
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
{temp_paths}
    include {site};
}}
"""


def _wait_for(url: str, context: ssl.SSLContext | None, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60  # a loaded machine boots gunicorn's workers slowly
    while True:
        assert process.poll() is None, f"{process.args[0]} exited at start:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        assert time.monotonic() < deadline, f"{url} did not answer within 60 s:\n{log.read_text()}"
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=25)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class ThirdParty:
    """Another https site (same host, other port: another origin) that
    remembers the Referer of each request it gets."""

    url: str
    visits: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Referer)


@dataclass
class Production:
    url: str
    env: dict[str, str]
    spki: str  # the certificate's key, for Chromium to trust
    third_party: ThirdParty

    def quiz(self, *args: str, stdin: str | None = None) -> str:
        """`flask --app wsgi quiz …` as the operator and the scheduler run it."""
        flask = str(Path(sys.executable).parent / "flask")
        done = subprocess.run(
            [flask, "--app", "wsgi", "quiz", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"quiz {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture
def production(app, db_url: str, smtp, tmp_path: Path) -> Iterator[Production]:
    """nginx (TLS) → gunicorn (Procfile, production settings) → the test
    database; mail to the suite's SMTP server. `app` is requested for the
    database it shares and empties afterwards."""
    if not os.path.exists(NGINX):
        pytest.fail(f"{NGINX} is missing: run `make test` (it installs Debian's nginx)")
    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(cert)
    for extra in leaf.cert_chain_pems[1:]:
        extra.write_to_path(cert, append=True)
    leaf.private_key_pem.write_to_path(key)
    der = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    spki = base64.b64encode(hashlib.sha256(der).digest()).decode()

    web_port, https_port, http_port, other_port = (free_port() for _ in range(4))
    prefix = f"quiz-production-shape-{uuid.uuid4().hex}"
    base = f"https://localhost:{https_port}"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": python_path(ROOT),
        "QUIZ_ENV": "production",
        "QUIZ_SECRET_KEY": "a-test-secret-for-the-production-shape",
        "QUIZ_DATABASE_URL": db_url,
        "QUIZ_BASE_URL": base,
        "QUIZ_PROXY_HOPS": "1",
        "QUIZ_MAIL_BACKEND": "smtp",
        "QUIZ_SMTP_URL": f"smtp://127.0.0.1:{app.config['QUIZ_SMTP_URL'].rsplit(':', 1)[1]}",
        "QUIZ_MAIL_FROM": "MeldcodeQuiz <quiz@example.org>",
        "QUIZ_RATELIMIT_STORAGE_URL": REDIS_URL,
        # Counters of this run only: runs on one machine share the Redis.
        "QUIZ_RATELIMIT_KEY_PREFIX": prefix,
        "WEB_CONCURRENCY": "2",
        "PORT": str(web_port),
    }
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    site = tmp_path / "site.conf"
    site.write_text(site_config(web_port, https_port, http_port, cert, key))
    main = tmp_path / "nginx.conf"
    main.write_text(main_config(tmp_path, site))
    check = subprocess.run([NGINX, "-t", "-q", "-c", str(main)], capture_output=True, text=True)
    assert check.returncode == 0, f"nginx refuses deploy/nginx.conf:\n{check.stderr}"

    # Another site for the Referer check: https on another port, same certificate.
    third_party = ThirdParty(f"https://localhost:{other_port}/elders")

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            third_party.visits.append((self.path, self.headers.get("Referer")))
            body = b"<!doctype html><title>Elders</title><h1>Een andere site</h1>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", other_port), Recorder)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(tls)
    elsewhere.socket = tls.wrap_socket(elsewhere.socket, server_side=True)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()

    web_log, nginx_log = tmp_path / "web.log", tmp_path / "error.log"
    with web_log.open("w") as log:
        web = subprocess.Popen(_procfile_web_command(web_port), cwd=ROOT, env=env, stdout=log, stderr=log)
    nginx = subprocess.Popen([NGINX, "-c", str(main)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client_tls = ssl.create_default_context()
        ca.configure_trust(client_tls)
        _wait_for(f"http://127.0.0.1:{web_port}/healthz", None, web, web_log)
        _wait_for(f"{base}/healthz", client_tls, nginx, nginx_log)
        yield Production(base, env, spki, third_party)
    finally:
        _stop(nginx)
        _stop(web)
        elsewhere.shutdown()
        elsewhere.server_close()
        redis = Redis.from_url(REDIS_URL)
        for key in redis.scan_iter(match=f"*{prefix}*"):
            redis.delete(key)
        redis.close()


@pytest.fixture
def chromium(production: Production, browser: Any) -> Iterator[Any]:
    """Debian's Chromium trusting this run's certificate (by its key), as a
    browser trusts a real one: a secure context, Secure cookies kept. A
    second browser from the suite's Playwright (one per thread can run)."""
    trusting = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={production.spki}"],
        headless=True,
    )
    context = trusting.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, locale="nl-NL")
    yield context.new_page()
    context.close()
    trusting.close()


def _path(message, prefix: str) -> str:  # noqa: ANN001 - an EmailMessage
    return next(path for path in links(message) if path.startswith(prefix))


def test_participant_and_organiser_over_https_behind_nginx(production, chromium, smtp, app):
    page = chromium
    production.quiz("questions", "import", "questions/meldcode.toml")
    production.quiz("campaign", "ensure-default")

    # Signup: the form's POST carries the CSRF token and a same-origin Referer.
    response = page.goto(production.url + "/")
    assert response is not None and response.ok
    assert response.headers["strict-transport-security"].startswith("max-age=")  # the app saw https
    sign_up(page, "noor@example.org", "Basisschool De Linde", "onderwijs")
    assert [c["name"] for c in page.context.cookies() if c["secure"]] == ["__Host-session"]

    # The scheduler's tick sends the confirmation; confirming is a POST too.
    production.quiz("tick")
    (confirmation,) = smtp.to("noor@example.org")
    page.goto(production.url + _path(confirmation, "/bevestig/"))
    page.get_by_role("button", name="Ja, ik doe mee").click()
    expect(page.get_by_role("heading", name="Je doet mee!")).to_be_visible()

    # The first question, at 07:31 on the participant's first quiz day.
    with session_scope(app) as s:
        first_day = s.scalars(select(Participant.first_quiz_day)).one()
    morning = datetime.combine(first_day, clock(7, 31), ZoneInfo("Europe/Amsterdam"))
    production.quiz("tick", "--now", morning.isoformat())
    question = next(m for m in smtp.to("noor@example.org") if m is not confirmation)
    answer_link = _path(question, "/a/")
    page.goto(production.url + answer_link)
    page.get_by_role("button", name="Bevestig mijn antwoord").click()
    expect(page.get_by_text("Jouw antwoord").first).to_be_visible()
    with session_scope(app) as s:
        assert len(s.scalars(select(Answer)).all()) == 1

    # A page with a token in its address hands that address to no other site.
    page.evaluate(
        "url => { const a = document.createElement('a'); a.href = url; document.body.append(a); a.click(); }",
        production.third_party.url,
    )
    expect(page.get_by_role("heading", name="Een andere site")).to_be_visible()
    # (Chromium then asks this other site for its favicon, with that site's own page as Referer.)
    assert [referer for path, referer in production.third_party.visits if path == "/elders"] == [None]

    # Unsubscribe from the link in the question email.
    page.goto(production.url + _path(question, "/afmelden/"))
    page.get_by_role("button", name="Ja, meld mij af").click()
    expect(page.get_by_role("heading", name="Je bent afgemeld")).to_be_visible()
    with session_scope(app) as s:
        assert s.scalars(select(Participant.status)).one() == "unsubscribed"

    # Erase, from Mijn quiz.
    manage = _path(question, "/mijn-quiz/").split("/vraag/")[0]
    page.goto(production.url + manage.rstrip("/") + "/wissen")
    page.get_by_label("Ja, ik weet het zeker").check()
    page.get_by_role("button", name="Wis mijn gegevens").click()
    expect(page.get_by_role("heading", name="Je gegevens zijn gewist")).to_be_visible()
    with session_scope(app) as s:
        assert s.scalars(select(Participant.email)).one() is None

    # An organiser logs in and out.
    production.quiz("organiser", "add", "team@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    page.goto(production.url + "/admin/")
    page.get_by_label("E-mailadres").fill("team@example.org")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("button", name="Uitloggen")).to_be_visible()
    with session_scope(app) as s:
        assert s.scalars(select(Organiser.last_login_at)).one() is not None
    page.get_by_role("button", name="Uitloggen").click()
    expect(page.get_by_role("heading", name="Inloggen voor organisatoren")).to_be_visible()
    page.goto(production.url + "/admin/")
    expect(page.get_by_role("heading", name="Inloggen voor organisatoren")).to_be_visible()
