"""Prometheus metrics at `/metrics`, when QUIZ_METRICS_TOKEN is set.

Two sources:

- The database, read at scrape time (`QuizCollector`): deliveries by kind and
  status, outbox depth and the age of the oldest due message, messages sent
  (a counter: `rate(quiz_messages_sent_total[5m])` is the send rate, and
  `quiz_messages_sent_last_minute` the same without PromQL), answers,
  signups by status, bounces. The database is the one place every web and
  scheduler process on every machine writes to, so any web process reports
  the same, complete figures, and a restarted process loses nothing.
- This process's requests (`quiz_http_requests_total`,
  `quiz_http_request_seconds`), by endpoint name, never by path: paths hold
  link tokens, and an endpoint name keeps the label set small. Under
  gunicorn each worker is its own process, so these use prometheus-client's
  multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (docs/deploy.md).

Nothing here carries personal data: only counts per kind and status.
Access needs `Authorization: Bearer <QUIZ_METRICS_TOKEN>`; without the
setting the route does not exist (404), so nothing leaks by default.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from datetime import timedelta

from flask import Blueprint, Flask, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from quiz.extensions import csrf

bp = Blueprint("metrics", __name__)

REQUESTS = Counter("quiz_http_requests", "HTTP requests served", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "quiz_http_request_seconds",
    "Time to serve a request",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class QuizCollector(Collector):
    """Figures from the database, read on every scrape (a handful of grouped counts)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        from quiz.db import session_scope, utcnow
        from quiz.delivery.outbox import CLAIMABLE
        from quiz.models import Answer, Delivery, Participant

        now = utcnow()
        with session_scope(self.app) as session:
            deliveries = GaugeMetricFamily(
                "quiz_deliveries", "Deliveries (outbox rows) by kind and status", labels=["kind", "status"]
            )
            for kind, status, n in session.execute(
                select(Delivery.kind, Delivery.status, func.count()).group_by(Delivery.kind, Delivery.status)
            ):
                deliveries.add_metric([kind, status], n)
            yield deliveries

            due = (Delivery.status.in_(CLAIMABLE)) & (Delivery.due_at <= now)
            depth, oldest = session.execute(select(func.count(), func.min(Delivery.due_at)).where(due)).one()
            yield GaugeMetricFamily("quiz_outbox_depth", "Deliveries due now and not sent yet", value=depth)
            age = (now - oldest).total_seconds() if oldest is not None else 0.0
            yield GaugeMetricFamily(
                "quiz_outbox_oldest_due_seconds", "How long the oldest due delivery has waited", value=age
            )

            sent = select(func.count()).select_from(Delivery).where(Delivery.sent_at.is_not(None))
            yield CounterMetricFamily(
                "quiz_messages_sent", "Messages the relay accepted", value=session.scalar(sent) or 0
            )
            recent = sent.where(Delivery.sent_at >= now - timedelta(minutes=1))
            yield GaugeMetricFamily(
                "quiz_messages_sent_last_minute",
                "Send rate: messages accepted in the last 60 s",
                value=session.scalar(recent) or 0,
            )
            answers = session.scalar(select(func.count()).select_from(Answer)) or 0
            yield CounterMetricFamily("quiz_answers", "Answers confirmed by participants", value=answers)

            signups = GaugeMetricFamily("quiz_participants", "Signups by status", labels=["status"])
            for status, n in session.execute(
                select(Participant.status, func.count()).group_by(Participant.status)
            ):
                signups.add_metric([status], n)
            yield signups

            bounces = GaugeMetricFamily(
                "quiz_bounces", "Deliveries that bounced after the relay took them", labels=["type"]
            )
            for kind, n in session.execute(
                select(Delivery.bounce_type, func.count())
                .where(Delivery.bounce_type.is_not(None))
                .group_by(Delivery.bounce_type)
            ):
                bounces.add_metric([kind], n)
            yield bounces


class _Forward(Collector):
    """Yields another registry's metrics (this process's request metrics and
    the default process collectors) inside our own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator:  # type: ignore[override]
        yield from self.registry.collect()


def registry_for(app: Flask) -> CollectorRegistry:
    """All gunicorn workers' request metrics (multiprocess mode) or this
    process's, plus the database's figures. A registry per app, so the
    database collector never lands on the global one twice."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry.register(_Forward(REGISTRY))
    registry.register(QuizCollector(app))
    return registry


def _authorised() -> bool:
    token = current_app.config.get("QUIZ_METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@bp.get("/metrics")
@csrf.exempt
def metrics() -> Response:
    if not _authorised():
        return Response(
            "Unauthorized\n", status=401, mimetype="text/plain", headers={"WWW-Authenticate": "Bearer"}
        )
    registry = current_app.extensions["quiz_metrics"]
    return Response(
        generate_latest(registry), mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
    )


def _start_timer() -> None:
    g.metrics_start = time.perf_counter()


def _observe(response: Response) -> Response:
    start = g.pop("metrics_start", None)
    endpoint = request.endpoint or "unmatched"
    if start is not None and endpoint != "metrics.metrics":
        LATENCY.labels(endpoint).observe(time.perf_counter() - start)
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    return response


def init_app(app: Flask) -> None:
    """Serve /metrics and time requests, only when QUIZ_METRICS_TOKEN is set:
    without it the request path carries no metrics code at all."""
    if not app.config.get("QUIZ_METRICS_TOKEN"):
        return
    app.extensions["quiz_metrics"] = registry_for(app)
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)
