"""The POST that records an answer, served in front of Flask.

"Bevestig mijn antwoord" is a quiz morning's hot path: hundreds of
confirmations a second when a region's schools open the morning's email.
Around the confirmation's own work (check the token, read the link, one
INSERT, fill two links into the cached feedback page) Flask's request
handling costs as much again: the request and response objects, URL
matching, the before- and after-request hooks, the session. So this WSGI
handler, installed in front of Flask by create_app, serves the POSTs that
record an answer itself, with the functions the Flask view uses
(quiz.web.answers: the form, the link, recording, the feedback page) and the
headers Flask would send, and hands every other request to Flask untouched.

It serves a request only when it is the POST that records an answer:
- POST /a/<token>, the token in URL-safe characters, an urlencoded body of
  a stated length within MAX_CONTENT_LENGTH, and no cookie (a session
  cookie is Flask's to open);
- no rate-limit block held for the link or the client address (the 429 page
  is Flask's);
- a valid token, the link open and not answered yet, the form naming one of
  the question's options, and not a form that was served to a scanner.
Anything else, found before the answer is stored (a bad token, a revisit, a
lost database connection, a double submit that lost the INSERT), goes to
Flask with the body already read and nothing written: Flask then answers
exactly as without this handler, counting towards the limits as it does.
An error while the page is rendered, after the answer is stored, gets
Flask's own error handling.
tests/test_confirm_fast.py checks status, headers and body against Flask's
for the same requests; docs/benchmarks.md ("Answering") has the measurements.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

from quiz import answering, metrics
from quiz.db import database, get_session, utcnow
from quiz.limits import bad_tokens_per_address, link_key_for, token_post_per_link
from quiz.links import TokenExpired, TokenInvalid
from quiz.question_view import QuestionView
from quiz.security import headers_for
from quiz.stats import Distribution, distribution_with_new_answer
from quiz.web.answers import (
    FORM_MIMETYPE,
    PRIVATE_HEADERS,
    chosen_option,
    feedback_html,
    form_fields,
    posted_hit,
    record_first_answer,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

ENDPOINT = "answers.answer"  # the Flask view these requests would reach
_PREFIX = "/a/"
# Signed tokens are base64url and dots; anything else is not one of ours (Flask says so).
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


class ConfirmFastPath:
    """WSGI middleware: the recording POSTs here, every other request to `wsgi_app` (Flask's)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.content_type = f"{app.response_class.default_mimetype}; charset=utf-8"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        token = self._candidate(environ)
        if token is None:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        length = int(environ["CONTENT_LENGTH"])
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # Flask reads it from here if it takes over
        if len(body) != length:  # the client went away mid-body: Flask's 400
            return self.wsgi_app(environ, start_response)
        with self.app.app_context():
            recorded = self._record(token, body)
            if recorded is not None:
                link, answer, option_id, distribution = recorded
                try:
                    page = feedback_html(
                        link,
                        answer,
                        just_answered=True,
                        tapped=option_id,
                        distribution=distribution,
                        rendering=lambda: self.app.request_context(environ),
                    ).encode()
                except Exception as exc:  # the answer is stored: Flask's error page, not its view
                    return self._error(environ, start_response, exc, started)
        if recorded is None:  # outside our app context: Flask pushes its own
            return self.wsgi_app(environ, start_response)
        headers = [
            *PRIVATE_HEADERS,
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(page))),
            *headers_for(ENDPOINT, environ.get("wsgi.url_scheme") == "https"),
        ]
        start_response("200 OK", headers)
        if metrics.enabled(self.app):
            metrics.observe(ENDPOINT, "POST", 200, time.perf_counter() - started)
        return [page]

    def _candidate(self, environ: WSGIEnvironment) -> str | None:
        """The token, if this request may be the POST that records an answer."""
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(_PREFIX):
            return None
        token = path[len(_PREFIX) :]
        if not token or not _TOKEN_CHARS.issuperset(token) or "HTTP_COOKIE" in environ:
            return None
        if environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() != FORM_MIMETYPE:
            return None
        length = environ.get("CONTENT_LENGTH", "")
        limit = self.app.config["MAX_CONTENT_LENGTH"]
        if not (length.isascii() and length.isdigit()) or (limit is not None and int(length) > limit):
            return None  # no stated length (chunked), or over the cap: Flask's 413
        client = environ.get("REMOTE_ADDR") or "127.0.0.1"  # as quiz.limits.client_address
        if token_post_per_link.remembers_block(self.app, "POST", lambda: link_key_for(token)):
            return None
        if bad_tokens_per_address.remembers_block(self.app, "POST", lambda: client):
            return None
        return token

    def _record(
        self, token: str, body: bytes
    ) -> tuple[answering.AnswerLink, answering.RecordedAnswer, int, Distribution] | None:
        """Store the answer of a first confirmation: (link, answer, tapped option,
        distribution) for the feedback page. None when the request is any
        other kind, with nothing written, or when an error came up (Flask's
        view answers it; should the error come after the single statement
        stored the answer, that view shows the answer as given)."""
        form, now = form_fields(body), utcnow()

        def choose(view: QuestionView) -> int | None:
            return chosen_option(view, form)

        try:
            with database(self.app).kept_connection() as conn:
                if conn.dialect.name == "postgresql":  # the INSERT in the link's own statement
                    link, option_id, created = answering.read_link_and_store(
                        conn, get_session, token, now, posted_hit(form), choose
                    )
                else:
                    link = answering.read_answer_link(get_session, token, now, posted_hit(form), conn)
                    option_id, created = choose(link.question), False
                if option_id is None or link.served_to_scanner or link.answer is not None:
                    return None
                if created:
                    distribution = distribution_with_new_answer(
                        get_session, link.participant.campaign_id, link.question.id, option_id
                    )
                    answer = answering.RecordedAnswer(option_id, now)
                else:  # SQLite, near the quiz's end (see read_link_and_store), or a simultaneous submit
                    answer, created, distribution = record_first_answer(conn, link, option_id)
        except (TokenInvalid, TokenExpired):
            return None
        except Exception:  # e.g. a connection the server closed: Flask's view tries again
            log.warning("confirmation handed to Flask after an error", exc_info=True)
            return None
        if not created:  # a simultaneous submit stored its answer first: Flask shows that one
            return None
        return link, answer, option_id, distribution

    def _error(
        self, environ: WSGIEnvironment, start_response: StartResponse, exc: Exception, started: float
    ) -> Iterable[bytes]:
        """What Flask does with an error in a view: its handler's page, its after-request hooks."""
        with self.app.request_context(environ):
            response = self.app.finalize_request(self.app.handle_user_exception(exc))
        if metrics.enabled(self.app):
            metrics.observe(ENDPOINT, "POST", response.status_code, time.perf_counter() - started)
        return response(environ, start_response)
