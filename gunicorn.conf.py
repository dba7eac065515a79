"""Production settings of the web process (the Procfile's `web:` line).

    gunicorn --config gunicorn.conf.py wsgi:app

`python gunicorn.conf.py` prints the address the web process will listen on
(`make run` does, before it starts the processes).

Every value can still be overridden for one run with GUNICORN_CMD_ARGS or a
command-line flag. bench/answer.py starts the server with exactly this file.
"""

from __future__ import annotations

import os

# QUIZ_BIND wins; otherwise PORT (as platforms like Heroku set it) on loopback,
# behind the reverse proxy that terminates TLS.
bind = [os.environ.get("QUIZ_BIND") or f"127.0.0.1:{os.environ.get('PORT') or 5000}"]

# Worker processes: WEB_CONCURRENCY, else one more than there are cores.
# A confirmation waits twice for PostgreSQL; one process more than cores
# keeps the cores busy while one of them waits (PostgreSQL runs on the same
# machine and uses the core the waiting worker left). gunicorn's rule of
# thumb, 2 × cores + 1, measured worse here: the extra processes only add
# switching between them. bench/answer.py on 2 cores, alternating runs:
# 3 workers 786 and 817 confirmations/s (p99 18 ms), 5 workers 648 and
# 742/s (p99 53-79 ms); the bare route about the same with either.
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)

# Plain (sync) workers: one request at a time per process, a new
# connection per request, and the kernel hands each new connection to one
# idle worker, so the load spreads over all of them. With threaded (gthread)
# workers and the few long-lived keep-alive connections a proxy or a load
# generator holds open, one worker process tended to accept most of them and
# became the limit on one core while the others idled (measured on the answer
# path, bench/answer.py with 8 connections: one worker at 75-92 % of a core,
# the other four at 9-19 %; 180 to 640 confirmations/s from run to run, while
# sync workers gave 461 and 482/s with both cores busy). nginx buffers whole
# requests and responses (deploy/nginx.conf), which is what sync workers need.
worker_class = "sync"

# A request that takes longer than this is stuck (the slowest page, the
# organisers' dashboard at 100,000 participants, needs about a second).
timeout = 30
# SIGTERM: finish the requests in flight for up to this long, then stop.
graceful_timeout = 20
# Heartbeat files in memory, not on a disk that may stall (gunicorn's advice
# for containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Recycle a worker now and then so a slow leak cannot grow without bound;
# the jitter keeps the workers from restarting all at once.
max_requests = 20_000
max_requests_jitter = 2_000

# Load the app once in the master and fork the workers from it. A worker
# that loads the app itself spends about 0.7 s of CPU importing it; at a
# quiz morning's 1,000+ confirmations/s each of three workers reaches
# max_requests every minute or so, and each restart then takes that CPU
# from the requests (on two cores). Forked, a restart costs a few
# milliseconds and the workers share the app's memory. Safe because loading
# the app opens nothing a worker could inherit: no database connection
# (engines connect on first use), no Redis connection, no thread
# (tests/test_web_process.py checks that the master holds no TCP connection
# and no database file). The price: a HUP no longer loads new code or
# settings, so deploy with a restart (docs/deploy.md).
preload_app = True

# Access log on stdout through the logger that takes link tokens and email
# addresses out of every line (quiz/ops/logs.py): a token in a path is a credential.
accesslog = "-"
errorlog = "-"
logger_class = "quiz.ops.logs.GunicornLogger"


def _address(bound: str) -> str:
    """The address to open in a browser for a gunicorn bind value."""
    if bound.startswith(("unix:", "fd://")):
        return bound
    host, _, port = bound.rpartition(":")
    # A wildcard bind listens on every address; this machine's browser uses loopback.
    if host in ("", "0.0.0.0", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


if __name__ == "__main__":
    from quiz.config import load_settings

    address = _address(bind[0])
    print(f"Open {address} (dev mailbox: {address}/dev/mailbox); listening on {bind[0]}.")
    base_url = load_settings()["QUIZ_BASE_URL"]
    if base_url != address:
        print(
            f"Links in emails go to QUIZ_BASE_URL={base_url}. To follow them to this process, "
            f"set QUIZ_BASE_URL={address} (environment or .env)."
        )
