"""Flask extensions, created unbound and bound in create_app."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
# No default limits: each route that needs one (login, participant rights)
# says so with @limiter.limit. Storage comes from QUIZ_RATELIMIT_STORAGE_URL
# (memory:// by default, Redis when several web processes run).
limiter = Limiter(get_remote_address)
