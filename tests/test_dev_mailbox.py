"""The dev mailbox's Maildir on a fresh instance/ (issue 19, item 9): the web
process and the scheduler start together with `make run` and both create it.
`mailbox.Maildir(create=True)` raced there: FileExistsError, or
FileNotFoundError for a tmp/ folder not made yet, in the scheduler's log."""

from __future__ import annotations

import mailbox
import threading
from pathlib import Path

from quiz.delivery.mailer import DevMailboxTransport

OPENERS = 8


def _send_together(directory: Path) -> list[BaseException]:
    """OPENERS threads open the dev mailbox at the same moment and store one message each."""
    start = threading.Barrier(OPENERS)
    errors: list[BaseException] = []

    def send(n: int) -> None:
        start.wait()
        try:
            with DevMailboxTransport(str(directory)) as transport:
                message = f"Subject: {n}\r\n\r\nbody\r\n".encode()
                transport.send("quiz@example.org", "a@example.org", message)
        except Exception as exc:  # noqa: BLE001 - collected to fail the test with what it was
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(OPENERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_processes_starting_together_all_store_their_message(tmp_path: Path) -> None:
    for trial in range(20):
        directory = tmp_path / f"instance-{trial}" / "dev-mailbox"
        directory.parent.mkdir()
        assert _send_together(directory) == []
        subjects = sorted(int(m["Subject"]) for m in mailbox.Maildir(directory, create=False))
        assert subjects == list(range(OPENERS))
