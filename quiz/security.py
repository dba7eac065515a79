"""Security headers on every response, and the request body limit.

- Content-Security-Policy: scripts and styles only from our own static files
  (no inline script, no inline style attribute, no `on…=` handler), forms
  only to ourselves, and `frame-ancestors 'none'`: no other site may frame a
  page (clickjacking on the confirm, unsubscribe and erase buttons).
- The two pages our own pages frame (the HTML of an email in the dev
  mailbox and in the organisers' preview) get `frame-ancestors 'self'` and a
  sandbox instead: email HTML has inline styles and must never run script.
- Referrer-Policy: same-origin everywhere. Tokens travel in paths
  (/a/…, /mijn-quiz/…, /afmelden/…): no other site may ever see such a URL,
  and a single global policy means no new token page can forget it. Our own
  site does get the Referer, and must: over https Flask-WTF's CSRF check
  (WTF_CSRF_SSL_STRICT) refuses a form POST whose Referer is missing or from
  another origin, and with `no-referrer` browsers send none, so every form
  answered "Het formulier is verlopen" in production. The Referer that comes
  back to us lands only in gunicorn's access log, which redacts tokens
  (quiz.ops.logs); nginx keeps no access log (deploy/nginx.conf).
- HSTS when the request came over https. Behind a TLS-terminating proxy the
  scheme is only right once ProxyFix trusts X-Forwarded-Proto (issue 9 adds
  it in create_app); until then `request.is_secure` is False there and no
  HSTS header is sent, which is safe, only weaker.
- Request bodies are capped (MAX_CONTENT_LENGTH / MAX_FORM_MEMORY_SIZE), so a
  huge POST gets the Dutch 413 page instead of tying up a worker. The
  organisers' TOML import raises the cap for its own route only.
"""

from __future__ import annotations

import re

from flask import Flask, request
from werkzeug.wrappers import Response

# Participants' forms are small; the biggest form is the organisers'
# question editor (about 12,500 characters at its limits, up to 9 bytes
# each once a non-ASCII character is percent-encoded).
MAX_BODY_BYTES = 128 * 1024
# A question-set file upload (TOML), for the organisers' import only.
MAX_IMPORT_BYTES = 2 * 1024 * 1024
LARGE_BODY_ENDPOINTS = frozenset({"admin.questionset_import"})

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-src 'self'",
        "frame-ancestors 'none'",
    ]
)

# The HTML part of an email, shown inside our own pages: inline CSS (mail
# clients need it inlined), no script at all, links open outside the frame.
FRAMED_EMAIL_CSP = "; ".join(
    [
        "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation",
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src https: data:",
        "frame-ancestors 'self'",
    ]
)
FRAMED_ENDPOINTS = frozenset({"devmail.html", "admin.question_preview_html"})
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


def links_leave_the_frame(html: str) -> str:
    """An email's HTML for a frame on our pages, with `<base target="_top">`.

    A link followed inside the frame would load our page there, and every
    page of ours refuses to be framed (frame-ancestors 'none'): the reader
    got the browser's error page. With the base target a click opens the page
    in the whole window, as a mail client does (the sandbox allows top-level
    navigation on a click; FRAMED_EMAIL_CSP leaves base-uri open for this).
    """
    base = '<base target="_top">'
    match = _HEAD.search(html)
    if match is None:
        return base + html
    return html[: match.end()] + base + html[match.end() :]

HSTS = "max-age=31536000; includeSubDomains"


_COMMON = (
    ("Referrer-Policy", "same-origin"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
_PAGE = (("Content-Security-Policy", CSP), ("X-Frame-Options", "DENY"), *_COMMON)
_FRAMED = (("Content-Security-Policy", FRAMED_EMAIL_CSP), ("X-Frame-Options", "SAMEORIGIN"), *_COMMON)


def apply_headers(response: Response) -> Response:
    """Set the security headers on one response (see the module docstring)."""
    framed = request.endpoint in FRAMED_ENDPOINTS
    for name, value in _FRAMED if framed else _PAGE:
        response.headers[name] = value
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def _body_limit() -> None:
    """Let the one upload route accept a question-set file; every other
    route keeps the small app-wide cap (checked while the body is read)."""
    if request.endpoint in LARGE_BODY_ENDPOINTS:
        request.max_content_length = MAX_IMPORT_BYTES
        request.max_form_memory_size = MAX_IMPORT_BYTES


def init_app(app: Flask) -> None:
    """Register before CSRFProtect: the body limit must be raised for the
    upload route before anything reads the form."""
    # Flask's defaults are None (no limit) and 500 kB: replace them unless a
    # caller chose a value.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    if app.config.get("MAX_FORM_MEMORY_SIZE") in (None, 500_000):
        app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    # create_app makes the session cookie HttpOnly, SameSite=Lax and, when
    # the public address is https, Secure.
    # The __Host- prefix makes browsers refuse the cookie unless it is
    # Secure, host-only and for path /: no subdomain can plant one.
    if app.config["SESSION_COOKIE_SECURE"] and app.config.get("SESSION_COOKIE_NAME") == "session":
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    app.before_request(_body_limit)
    app.after_request(apply_headers)
