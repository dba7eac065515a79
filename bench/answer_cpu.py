"""CPU per request in one process: a confirmed answer next to a bare Flask route.

bench/answer.py calls `measure` after seeding its database; it reports the
CPU time (`time.process_time`) one Python process spends per request, each
request a WSGI call with a prebuilt environment (no HTTP server, no client).
CPU time is what other load on the machine does not inflate much, so these
figures explain the throughput figures: through gunicorn both kinds of
request also pay the same HTTP parsing and access log, and the answers
PostgreSQL's work on the same two cores.

- bare: a Flask app with one route returning a page of the same size;
- app floor: the same route added to the quiz app (its hooks: security
  headers, CSRF check, session, body limit) — the least any page costs;
- confirm: POST "Bevestig mijn antwoord" on a fresh answer link.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.test import EnvironBuilder

Wsgi = Callable[[dict, Callable[..., Any]], Iterable[bytes]]


def _environ(path: str, body: bytes) -> dict:
    return EnvironBuilder(
        path=path,
        method="POST",
        data=body,
        content_type="application/x-www-form-urlencoded",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    ).get_environ()


def _cpu_per_request(app: Wsgi, requests: list[tuple[str, bytes]]) -> float:
    """Milliseconds of CPU per request, each answered 200."""
    prepared = [(_environ(path, body), body) for path, body in requests]
    statuses: list[str] = []

    def start_response(status: str, _headers: list, _exc: Any = None) -> None:
        statuses.append(status)

    started = time.process_time()
    for environ, body in prepared:
        environ = {**environ, "wsgi.input": io.BytesIO(body)}
        b"".join(app(environ, start_response))
    elapsed = time.process_time() - started
    bad = [s for s in statuses if not s.startswith("200")]
    if bad:
        raise SystemExit(f"CPU measurement: {len(bad)} requests failed, e.g. {bad[0]}")
    return elapsed / len(prepared) * 1000


def measure(config: dict, links: list[tuple[str, str]], warmup: int = 200) -> dict:
    """CPU per request (ms) for bare route, app floor and confirmations.

    `links` are fresh (path, option) pairs; all of them are used up."""
    from flask import Flask, request

    from quiz import create_app
    from quiz.db import database
    from quiz.extensions import csrf

    app = create_app(config)
    bare = Flask("bare")
    body = [""]  # the feedback page's size, once known

    def page(token: str) -> str:
        request.form.get("option")
        return body[0]

    bare.add_url_rule("/a/<token>", "bare", page, methods=["POST"])
    app.add_url_rule("/bench-floor/<token>", "bench_floor", csrf.exempt(page), methods=["POST"])
    requests = [(path, f"option={option}".encode()) for path, option in links]
    _cpu_per_request(app, requests[: warmup - 1])  # caches, pool, prepared statements
    path, option = links[warmup - 1]
    body[0] = "x" * len(app.test_client().post(path, data={"option": option}).data)
    token = links[0][0].rsplit("/", 1)[1]
    n = len(links) - warmup
    figures = {
        "page_bytes": len(body[0]),
        "confirm_cpu_ms": _cpu_per_request(app, requests[warmup:]),
        "bare_cpu_ms": _cpu_per_request(bare, [(f"/a/{token}", b"option=1")] * n),
        "floor_cpu_ms": _cpu_per_request(app, [(f"/bench-floor/{token}", b"option=1")] * n),
    }
    database(app).dispose()
    return figures
