"""Absolute links for emails, built from QUIZ_BASE_URL.

Emails are rendered by the scheduler, outside any request, so links come from
the configured public address rather than from the request's Host header
(which an attacker could also choose).
"""

from __future__ import annotations

from typing import Any

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    adapter = current_app.url_map.bind("localhost")
    return current_app.config["QUIZ_BASE_URL"] + adapter.build(endpoint, values)
