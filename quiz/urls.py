"""URLs: the `token` path converter, and absolute links for emails.

Every route whose path holds a signed link token declares it as
`<token:token>`. The converter matches what the default one does (so a
damaged token still reaches its view and gets its Dutch page); what it adds
is the name: the URL map itself then says which path segments are
credentials, and quiz.ops.logs redacts exactly those, in the app's log and in
gunicorn's access log.

Emails are rendered by the scheduler, outside any request, so links come from
the configured public address rather than from the request's Host header
(which an attacker could also choose).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from werkzeug.routing import BaseConverter


class TokenConverter(BaseConverter):
    """A signed link token as one path segment (see the module docstring)."""


def external_url(endpoint: str, **values: Any) -> str:
    adapter = current_app.url_map.bind("localhost")
    return current_app.config["QUIZ_BASE_URL"] + adapter.build(endpoint, values)
