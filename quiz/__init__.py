"""MeldcodeQuiz: the Flask application factory.

Importing this package has no side effects; `create_app` builds an app.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings (env / .env / defaults, then `config`), extensions,
    blueprints and CLI commands. Starts no threads and sends no mail."""
    from quiz import cli, db, errors, formatting, organisation, security
    from quiz.config import check_required, load_settings
    from quiz.extensions import csrf
    from quiz.ops import logs

    app = Flask(__name__, instance_relative_config=True)
    # <token:...> marks the path segments that are signed links (quiz.urls).
    from quiz.urls import TokenConverter

    app.url_map.converters["token"] = TokenConverter
    env_file = None if config and config.get("QUIZ_IGNORE_DOTENV") else ".env"
    app.config.update(load_settings(env_file=env_file, instance_path=app.instance_path))
    if config:
        app.config.update(config)
    check_required(app.config)

    app.config["SECRET_KEY"] = app.config["QUIZ_SECRET_KEY"]
    app.config["SECRET_KEY_FALLBACKS"] = app.config["QUIZ_SECRET_KEY_FALLBACKS"]
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session cookie bounds it
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["QUIZ_BASE_URL"].startswith("https://")

    app.jinja_env.add_extension("jinja2.ext.do")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    logs.init_app(app)
    security.init_app(app)  # before CSRFProtect: it sets the body limit per route
    csrf.init_app(app)
    formatting.init_app(app)
    organisation.init_app(app)
    errors.init_app(app)

    # The later stages' planning rules and email contents, registered
    # explicitly: delivery plans and sends them without importing followups.
    from quiz.delivery import emails, planner
    from quiz.followups import emails as followup_emails
    from quiz.followups import rules as followup_rules
    from quiz.repeats import emails as repeat_emails
    from quiz.repeats import rules as repeat_rules

    planner.register_rules(followup_rules.RULES)
    planner.register_rules(repeat_rules.RULES)
    emails.register_builders(followup_emails.BUILDERS)
    emails.register_builders(repeat_emails.BUILDERS)

    from quiz import admin
    from quiz.answering import discussed
    from quiz.answering import views as answers
    from quiz.followups import bespreekkaart, certificate_views
    from quiz.repeats import views as repeats
    from quiz.rights import account, mydata, unsubscribe
    from quiz.signup import site
    from quiz.signup import views as signup

    app.register_blueprint(signup.bp)
    app.register_blueprint(site.bp)
    app.register_blueprint(answers.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(discussed.bp)
    app.register_blueprint(bespreekkaart.bp)
    app.register_blueprint(certificate_views.bp)
    app.register_blueprint(repeats.bp)
    app.register_blueprint(mydata.bp)
    app.register_blueprint(unsubscribe.bp)
    app.register_blueprint(admin.bp)
    if app.config["QUIZ_MAIL_BACKEND"] == "dev":
        # The dev mailbox shows every message ever "sent"; it must not exist
        # in any other mode.
        from quiz.delivery import devmail

        app.register_blueprint(devmail.bp)

    from quiz.ops import health, metrics

    app.register_blueprint(health.bp)
    metrics.init_app(app)
    from quiz import ratelimits

    ratelimits.init_app(app)  # after the blueprints: it limits the views that ask for it
    if app.config["QUIZ_PROXY_HOPS"] > 0:
        # Trust X-Forwarded-For/-Proto/-Host/-Port from exactly this many proxies in
        # front of us: the client address for the rate limits, https for HSTS
        # and secure cookies. Never more than there are, or clients could
        # forge their address.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["QUIZ_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]

    # Every route is registered now: the logs redact the tokens of all of them.
    logs.learn_token_routes(app.url_map)
    cli.init_app(app)
    return app
