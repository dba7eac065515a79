"""Production settings of the web process (the Procfile's `web:` line).

    gunicorn --config gunicorn.conf.py wsgi:app

Every value can still be overridden for one run with GUNICORN_CMD_ARGS or a
command-line flag. bench/answer.py starts the server with exactly this file.
"""

from __future__ import annotations

import os

# QUIZ_BIND wins; otherwise PORT (as platforms like Heroku set it) on loopback,
# behind the reverse proxy that terminates TLS.
bind = [os.environ.get("QUIZ_BIND") or f"127.0.0.1:{os.environ.get('PORT') or 5000}"]

# Worker processes: WEB_CONCURRENCY, else gunicorn's rule of thumb 2 × cores + 1.
# A confirmation spends most of its time waiting for PostgreSQL; more
# processes than cores keep the cores busy while some of them wait.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)

# Threaded workers (gthread), two threads each. Measured on the answer path
# (bench/answer.py, same run, load average 5-6 from other work on the
# machine): sync 463 answers/s with p99 50.8 ms at half that rate; gthread
# with 4 threads 442/s, 46.7 ms; gthread with 2 threads 436/s, 31.6 ms. An
# earlier pair of runs at a higher load gave gthread about twice the sync
# rate (keep-alive; a thread waiting for PostgreSQL lets the other one use
# the core). Two threads keep most of that without the tail latency of more
# threads contending for one GIL. See docs/benchmarks.md, "Answering".
worker_class = "gthread"
threads = 2
# Idle keep-alive connections are closed after this many seconds.
keepalive = 5

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

# Access log on stdout through the logger that takes link tokens and email
# addresses out of every line (quiz/logs.py): a token in a path is a credential.
accesslog = "-"
errorlog = "-"
logger_class = "quiz.logs.GunicornLogger"
