"""The dev mailbox: every message "sent" with QUIZ_MAIL_BACKEND=dev, in the browser.

Registered only in dev mode, so the route does not exist anywhere else.
"""

from __future__ import annotations

import mailbox
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

from flask import Blueprint, abort, current_app, render_template
from markupsafe import Markup, escape

from quiz.delivery.mailer import open_dev_mailbox
from quiz.security import links_leave_the_frame

bp = Blueprint("devmail", __name__, url_prefix="/dev/mailbox")

_URL = re.compile(r"https?://[^\s<>\"']+")


def _box() -> mailbox.Maildir:
    return open_dev_mailbox(current_app.config["QUIZ_DEV_MAILBOX_DIR"])


def _parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def _part(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else ""


def linkify(text: str) -> Markup:
    """Escape text and make its URLs clickable."""
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(escape(text[last : match.start()]))
        url = match.group(0)
        out.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


@bp.get("/")
def index() -> str:
    box = _box()
    messages = []
    for key in box.iterkeys():
        msg = _parse(box.get_bytes(key))
        messages.append(
            {
                "key": key,
                "to": msg["To"],
                "subject": msg["Subject"],
                "date": parsedate_to_datetime(msg["Date"]) if msg["Date"] else None,
            }
        )
    messages.sort(key=lambda m: (m["date"] is not None, m["date"]), reverse=True)
    return render_template("devmail/index.html", messages=messages)


def _load(key: str) -> EmailMessage:
    try:
        return _parse(_box().get_bytes(key))
    except (KeyError, FileNotFoundError):
        abort(404)


@bp.get("/<key>")
def show(key: str) -> str:
    msg = _load(key)
    return render_template("devmail/show.html", key=key, msg=msg, text=linkify(_part(msg, "plain")))


@bp.get("/<key>/html")
def html(key: str) -> str:
    # Shown in a sandboxed frame on the message's page: links open in the whole window.
    return links_leave_the_frame(_part(_load(key), "html"))
