"""The public site's fixed pages: colofon, accessibility statement, favicon and logo.

With the privacy statement (quiz.signup.views) they make the campaign site
one a Dutch professional can trust: who runs it, how to reach them, and what
they promise about accessibility. The texts name the organisation from the
settings (quiz.organisation), so nothing here says who that is.
"""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, render_template, send_file
from werkzeug.wrappers import Response

from quiz.organisation import current

bp = Blueprint("site", __name__)

FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"
# Browsers ask for /favicon.ico on every site, whatever the page links;
# an icon changes rarely, so a day in the cache.
ICON_MAX_AGE = 24 * 3600


@bp.get("/colofon")
def colofon() -> str:
    return render_template("signup/colofon.html")


@bp.get("/toegankelijkheid")
def accessibility() -> str:
    return render_template("signup/accessibility.html")


def _image(path: Path, mimetype: str) -> Response:
    """A small image, cached a day, with an ETag for conditional requests.
    Read into memory first: a response holding the file open would keep it
    open until a client that never reads the body goes away."""
    stat = path.stat()
    return send_file(
        io.BytesIO(path.read_bytes()),
        mimetype=mimetype,
        max_age=ICON_MAX_AGE,
        etag=f"{stat.st_mtime_ns:x}-{stat.st_size:x}",
        last_modified=stat.st_mtime,
    )


@bp.get("/favicon.ico")
def favicon() -> Response:
    return _image(FAVICON, "image/vnd.microsoft.icon")


@bp.get("/logo")
def logo() -> Response:
    """The organisation's logo (QUIZ_LOGO_FILE, else the MeldcodeQuiz logo)."""
    organisation = current()
    return _image(organisation.logo, organisation.logo_type)
