"""`quiz bounces fetch` against a real IMAP server: Debian's Dovecot, started
by the test in a temporary directory on a loopback port (no system service,
no configuration outside the directory). Skipped where dovecot-imapd is not
installed (`make test` installs it)."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from quiz.models import Delivery, Participant
from tests.answer_factories import make_quiz
from tests.conftest import free_port
from tests.factories import make_participant
from tests.test_bounces import BOUNCE_ADDRESS, NOW, dsn_bytes

DOVECOT = "/usr/sbin/dovecot"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = 1
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
"""


class Mailbox:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"imap://bounces:s%40cret@127.0.0.1:{port}/INBOX"

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login("bounces", "s@cret")
        conn.select("INBOX")
        return conn

    def deliver(self, *messages: bytes) -> None:
        conn = self.connect()
        for raw in messages:
            conn.append("INBOX", None, None, raw)
        conn.logout()

    def state(self) -> dict[str, list[str]]:
        """Subjects of the messages left, read and unread."""
        conn = self.connect()
        out = {}
        for key, criterion in (("unseen", "UNSEEN"), ("seen", "SEEN")):
            _, data = conn.search(None, criterion)
            subjects = []
            for num in data[0].split():
                _, parts = conn.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                subjects.append(parts[0][1].decode().strip().removeprefix("Subject: "))
            out[key] = subjects
        conn.logout()
        return out


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    if not Path(DOVECOT).exists():
        pytest.skip("needs Debian's dovecot-imapd (make test installs it)")
    # Dovecot refuses to run its login and mail processes as root: as root,
    # use the users the Debian package created; otherwise, ourselves.
    if os.geteuid() == 0:
        user, login_user = pwd.getpwnam("dovecot"), "dovenull"
    else:
        user = pwd.getpwuid(os.getuid())
        login_user = user.pw_name
    # Not under pytest's tmp_path: its parent is private to us, and Dovecot's
    # own users must reach the mail directory.
    root = Path(tempfile.mkdtemp(prefix="quiz-dovecot-"))
    root.chmod(0o755)
    for sub in ("run", "state", "home"):
        (root / sub).mkdir()
    if os.geteuid() == 0:
        os.chown(root / "home", user.pw_uid, user.pw_gid)
    port = free_port()
    (root / "passwd").write_text("bounces:{PLAIN}s@cret\n")
    (root / "dovecot.conf").write_text(
        CONFIG.format(
            root=root,
            port=port,
            user=user.pw_name,
            login_user=login_user,
            group=_group(user.pw_gid),
            uid=user.pw_uid,
            gid=user.pw_gid,
        )
    )
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    pytest.fail(f"dovecot did not start:\n{log}")
                time.sleep(0.05)
        yield Mailbox(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _group(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


@pytest.fixture
def anna(app, session):
    app.config.update(QUIZ_BOUNCE_ADDRESS=BOUNCE_ADDRESS)
    campaign, _ = make_quiz(session, NOW - timedelta(days=10))
    anna = make_participant(session, campaign, NOW - timedelta(days=10), email="anna@example.org")
    for day in (1, 2):
        session.add(
            Delivery(
                participant=anna,
                kind="question",
                day=day,
                due_at=NOW - timedelta(days=3 - day),
                status="sent" if day == 1 else "pending",
                sent_at=NOW - timedelta(days=2) if day == 1 else None,
                created_at=NOW,
            )
        )
    session.commit()
    return anna


def test_fetch_records_bounces_deletes_them_and_leaves_other_mail(app, runner, session, mailbox, anna):
    day1, day2 = session.scalars(select(Delivery).order_by(Delivery.day)).all()
    mailbox.deliver(
        dsn_bytes("postfix-delayed.eml", day1.id),
        dsn_bytes("exchange-hard.eml", day1.id),
        dsn_bytes("autoreply.eml", day1.id),
        dsn_bytes("postfix-hard.eml", day1.id, key="forged"),
    )
    app.config.update(QUIZ_IMAP_URL=mailbox.url)

    result = runner.invoke(args=["quiz", "bounces", "fetch"])
    assert result.exit_code == 0, result.output
    assert result.output == "Bounces: delayed=1, hard=1, not-dsn=1, unknown=1.\n"
    session.expire_all()
    assert (day1.status, day1.bounce_type, day1.bounce_status) == ("failed", "hard", "5.1.10")
    assert day2.status == "cancelled"
    assert session.get(Participant, anna.id).status == "bounced"
    # Processed bounces are gone; what a person should look at stays, marked read.
    assert mailbox.state() == {
        "unseen": [],
        "seen": ["Automatisch antwoord: Vraag 1 van 5", "Undelivered Mail Returned to Sender"],
    }
    # Nothing new: nothing read again.
    again = runner.invoke(args=["quiz", "bounces", "fetch"])
    assert again.output == "Bounces: no new messages.\n"


def test_fetch_explains_a_refused_login_and_changes_nothing(app, runner, session, mailbox, anna):
    mailbox.deliver(dsn_bytes("postfix-hard.eml", session.scalars(select(Delivery)).first().id))
    app.config.update(QUIZ_IMAP_URL=mailbox.url.replace("s%40cret", "wrong"))
    result = runner.invoke(args=["quiz", "bounces", "fetch"])
    assert result.exit_code == 1
    assert "The IMAP server refused" in result.output
    assert mailbox.state()["unseen"] == ["Undelivered Mail Returned to Sender"]
    assert session.get(Participant, anna.id).status == "active"


def test_fetch_needs_its_settings(runner):
    result = runner.invoke(args=["quiz", "bounces", "fetch"])
    assert result.exit_code == 1
    assert "Set QUIZ_IMAP_URL and QUIZ_BOUNCE_ADDRESS first" in result.output


def test_the_scheduler_reads_the_mailbox_when_configured(app, session, mailbox, anna):
    import threading

    import scheduler

    assert "bounces" not in {job.id for job in scheduler.build_scheduler(app, threading.Event()).get_jobs()}
    app.config.update(QUIZ_IMAP_URL=mailbox.url, QUIZ_BOUNCE_FETCH_SECONDS=120)
    jobs = {job.id: job for job in scheduler.build_scheduler(app, threading.Event()).get_jobs()}
    assert jobs["bounces"].trigger.interval == timedelta(seconds=120)

    day1 = session.scalars(select(Delivery).order_by(Delivery.day)).first()
    mailbox.deliver(dsn_bytes("postfix-hard.eml", day1.id))
    scheduler.bounces(app)
    session.expire_all()
    assert session.get(Participant, anna.id).status == "bounced"
    # An unreachable mailbox is logged, never raised: the scheduler keeps running.
    app.config.update(QUIZ_IMAP_URL=f"imap://bounces:x@127.0.0.1:{free_port()}/INBOX")
    scheduler.bounces(app)
