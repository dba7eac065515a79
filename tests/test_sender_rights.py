"""Rights hold mid-send: a participant who unsubscribes or erases their data
while the sender works through a batch that already holds their question
gets nothing more, counted at the real SMTP server."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from quiz.db import utcnow
from quiz.delivery.outbox import enqueue
from quiz.delivery.sender import send_due
from quiz.models import Delivery, Participant
from quiz.rights import gdpr as rights
from tests.conftest import SMTPHandler, free_port
from tests.engine_factories import make_question_set
from tests.factories import make_campaign, make_participant


class HoldingHandler(SMTPHandler):
    """Holds the first message's DATA until the test lets it go, so the test
    acts while the sender is in the middle of its batch."""

    def __init__(self) -> None:
        super().__init__()
        self.first_arrived = threading.Event()
        self.go_on = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        if not self.first_arrived.is_set():
            self.first_arrived.set()
            while not self.go_on.is_set():
                await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def relay(app):
    controller = Controller(HoldingHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["QUIZ_SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}?timeout=20"
    yield controller.handler
    controller.handler.go_on.set()
    controller.stop()


def question_emails(session, count: int) -> list[Participant]:
    """`count` active participants, each with question 1 due, in this order."""
    now = utcnow()
    qs = make_question_set(session, now)
    campaign = make_campaign(session, now, question_set_id=qs.id)
    people = []
    for i in range(count):
        p = make_participant(session, campaign, now, f"p{i}@example.org", name=f"Deelnemer Nummer{i}")
        due = now - timedelta(seconds=count - i)  # the sender takes them in this order
        enqueue(session, participant_id=p.id, kind="question", day=1, question_id=qs.questions[0].id,
                due_at=due, now=now)  # fmt: skip
        people.append(p)
    session.commit()
    return people


def test_unsubscribe_and_erase_mid_batch_stop_mail_already_claimed(app, session, relay):
    """As seen in production with QUIZ_SMTP_RATE=2: the sender had claimed and
    loaded the batch, the participant unsubscribed (or erased their data)
    seconds later, and still got the question, the erased one with their
    erased name in To:."""
    app.config["QUIZ_SMTP_RATE"] = 2
    people = question_emails(session, 6)
    leaving, erasing = people[2], people[3]
    erased_name, erased_email = erasing.name, erasing.email
    result = {}
    sender = threading.Thread(target=lambda: result.update(report=send_due(app, utcnow, "t")))
    sender.start()
    try:
        assert relay.first_arrived.wait(30), "the sender never started"
        session.expire_all()
        # All six are claimed by the sender and loaded: the first is at the relay.
        assert set(session.scalars(select(Delivery.status))) == {"sending"}
        rights.unsubscribe(session, leaving, utcnow())
        rights.erase(session, erasing, utcnow())
    finally:
        relay.go_on.set()
        sender.join(60)
    assert not sender.is_alive()

    received = sorted(m["To"].addresses[0].addr_spec for m in relay.messages)
    assert received == ["p0@example.org", "p1@example.org", "p4@example.org", "p5@example.org"]
    assert not any(erased_name in str(m["To"]) or erased_email in str(m["To"]) for m in relay.messages)
    session.expire_all()
    withdrawn = {
        d.participant_id: (d.status, d.last_error)
        for d in session.scalars(select(Delivery).where(Delivery.status != "sent"))
    }
    assert withdrawn == {
        leaving.id: ("cancelled", "participant is unsubscribed"),
        erasing.id: ("cancelled", "participant is erased"),
    }
    report = result["report"]
    assert (report.sent, report.cancelled, report.claimed) == (4, 2, 6)


def test_a_bounce_earlier_in_the_batch_cancels_the_participants_later_message(app, session, smtp):
    """The check before each message also reads what this sender itself just
    recorded: a 550 for the question bounces the participant, and their
    follow-up in the same batch is not sent."""
    [p] = question_emails(session, 1)
    enqueue(session, participant_id=p.id, kind="followup", day=1, due_at=utcnow(), now=utcnow())
    session.commit()
    smtp.refuse["p0@example.org"] = "550 5.1.1 No such user"
    report = send_due(app, utcnow, "t")
    assert (report.claimed, report.failed, report.cancelled, report.sent) == (2, 1, 1, 0)
    session.expire_all()
    rows = {d.kind: (d.status, d.last_error) for d in session.scalars(select(Delivery))}
    assert rows["question"][0] == "failed"
    assert rows["followup"] == ("cancelled", "participant is bounced")


@pytest.mark.parametrize(
    ("status", "email", "receives"),
    [
        ("pending", "a@example.org", True),
        ("active", "a@example.org", True),
        ("completed", "a@example.org", True),
        ("unsubscribed", "a@example.org", False),
        ("bounced", "a@example.org", False),
        ("erased", None, False),
        ("active", None, False),  # no address, no mail, whatever the status says
    ],
)
def test_who_receives_mail_is_the_same_in_python_and_in_sql(session, status, email, receives):
    campaign = make_campaign(session, utcnow())
    p = make_participant(session, campaign, utcnow(), email, status=status)
    assert p.receives_mail is receives
    in_sql = session.scalar(select(Participant.receives_mail).where(Participant.id == p.id))
    assert bool(in_sql) is receives
