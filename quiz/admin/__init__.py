"""The organisers' workplace: login, question-set editor with preview,
campaigns, dashboard and CSV export. One small module per concern; each adds
its routes to the one `admin` blueprint."""

from quiz.admin import (  # noqa: F401 - importing a module registers its routes
    auth,
    campaigns,
    dashboard,
    exports,
    item_analysis_view,
    preview,
    questions,
    questionsets,
    sharing,
)
from quiz.admin.blueprint import bp

__all__ = ["bp"]
