"""The suite's shifted date for the Python processes a test starts (gunicorn,
the scheduler, the `quiz` command): with QUIZ_TEST_SHIFT_DAYS set, tests/
conftest.py puts this folder on PYTHONPATH, and Python imports this module at
start-up, so a child process lives on the same date as the test that
started it (tests/conftest.py explains the shift)."""

import os

if os.environ.get("QUIZ_TEST_SHIFT_DAYS"):
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(
        datetime.now(UTC) + timedelta(days=int(os.environ["QUIZ_TEST_SHIFT_DAYS"])), tick=True
    ).start()
