"""Logging in and out, and the login check in front of every admin page.

- The login form has a CSRF token (Flask-WTF, global) and rate limits
  (quiz.ratelimits): per client address, and wrong passwords per
  account and client address. An unknown address and a wrong password get
  the same answer in the same time (quiz.admin.organisers.authenticate), and so
  do known and unknown accounts once stopped (429, before any check).
- A login starts a fresh session (no fixation); the session holds only the
  organiser's id, their session version and the moment of the last request.
  An admin session ends after IDLE_TIMEOUT without requests and when the
  account is disabled. Logout and a password change end every session of
  that organiser on the server side: they raise the session version in the
  database, and a cookie with an older one opens nothing, even when replayed.
- Participants' links carry signed tokens for their own pages only; nothing
  here reads a token, so no participant link or cookie opens an admin page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from quiz.admin.blueprint import PUBLIC_ENDPOINTS, bp
from quiz.admin.organisers import authenticate, end_sessions, idle_expired
from quiz.db import get_session, utcnow
from quiz.models import Organiser
from quiz.ratelimits import logins_per_address, wrong_passwords

SESSION_ID = "organiser_id"
SESSION_VERSION = "organiser_session_version"
SESSION_SEEN = "admin_seen"


class LoginForm(FlaskForm):
    email = EmailField("E-mailadres", validators=[DataRequired("Vul je e-mailadres in."), Length(max=320)])
    password = PasswordField(
        "Wachtwoord", validators=[DataRequired("Vul je wachtwoord in."), Length(max=200)]
    )


def current_organiser() -> Organiser:
    """The logged-in organiser of this request (set by the login check)."""
    return g.organiser


def _safe_next(target: str | None) -> str:
    """Only a path inside the admin: never another site after logging in."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/admin/") and "\\" not in target:
            return target
    return url_for("admin.index")


def _to_login(message: str | None = None) -> Response:
    if message:
        flash(message, "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("admin.login", next=target))


@bp.before_request
def require_login() -> Response | None:
    """Every admin page but the login needs a logged-in, active organiser."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    organiser_id = session.get(SESSION_ID)
    if not isinstance(organiser_id, int):
        return _to_login()
    now = utcnow()
    seen = session.get(SESSION_SEEN)
    last_seen = datetime.fromtimestamp(seen, UTC) if isinstance(seen, int | float) else None
    if idle_expired(last_seen, now):
        session.clear()
        return _to_login("Je was een tijd niet actief. Log opnieuw in.")
    organiser = get_session().get(Organiser, organiser_id)
    if organiser is None or not organiser.active or session.get(SESSION_VERSION) != organiser.session_version:
        session.clear()
        return _to_login()
    session[SESSION_SEEN] = now.timestamp()
    g.organiser = organiser
    return None


@bp.app_context_processor
def _organiser() -> dict[str, object]:
    return {"organiser": g.get("organiser")}


@bp.route("/inloggen", methods=["GET", "POST"])
@logins_per_address
@wrong_passwords  # counts the 401s below
def login() -> str | Response | tuple[str, int]:
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        result = authenticate(get_session(), form.email.data or "", form.password.data or "", utcnow())
        if result.outcome == "ok" and result.organiser is not None:
            # A fresh session: whatever the cookie held before is dropped.
            session.clear()
            session[SESSION_ID] = result.organiser.id
            session[SESSION_VERSION] = result.organiser.session_version
            session[SESSION_SEEN] = utcnow().timestamp()
            return redirect(_safe_next(request.args.get("next")))
        if result.outcome == "disabled":
            error = "Dit account is uitgeschakeld. Vraag de beheerder om het weer aan te zetten."
            status = 403
        else:
            error = "Het e-mailadres of het wachtwoord klopt niet."
            status = 401
    elif form.is_submitted():
        status = 422
    return render_template("admin/login.html", form=form, error=error), status


@bp.route("/uitloggen", methods=["POST"])
def logout() -> Response:
    # Clearing the cookie is not enough: a copy of it would still work.
    end_sessions(current_organiser())
    get_session().commit()
    session.clear()
    flash("Je bent uitgelogd.", "info")
    return redirect(url_for("admin.login"))
