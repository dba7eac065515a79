"""The WSGI entry point: `gunicorn wsgi:app`."""

from quiz import create_app
from quiz.ops.checks import log_findings

app = create_app()
# In production, what `quiz check` would flag goes to the log once at start
# (gunicorn.conf.py preloads the app before forking its workers).
log_findings(app.config)
