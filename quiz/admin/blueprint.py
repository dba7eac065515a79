"""The organisers' blueprint (`admin`, under /admin): every page needs a login.

The login check runs before every request of the blueprint, so a route added
later is protected without remembering a decorator; only the login page
itself is open. Admin pages are never cached and never framed by another site.
"""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Endpoints reachable without a login.
PUBLIC_ENDPOINTS = frozenset({"admin.login"})


@bp.after_request
def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    # Framing, referrer and CSP headers: quiz.security, the same for every page.
    return response
