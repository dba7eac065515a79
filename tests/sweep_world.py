"""The data the page sweep (tests/test_page_sweep.py) shows: one campaign on the
shipped question set with enough answers for every figure, a participant with
long details (the widths that break layouts on a phone), and one email of each
kind, sent through the real sender into the dev mailbox.

Everything is built relative to now, so the sweep runs on any date.
"""

from __future__ import annotations

import mailbox
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz import links
from quiz.db import session_scope, utcnow
from quiz.delivery.outbox import enqueue
from quiz.delivery.sender import send_due
from quiz.models import Campaign, Participant, QuestionSet, RepeatAnswer
from tests.admin_factories import answer, import_meldcode, make_organiser
from tests.factories import make_campaign, make_participant

# Long, but real: Dutch organisation names and addresses are this long.
LONG_EMAIL = "sanne.van-der-heijden-bakker@kinderdagverblijf-het-vrolijke-vlindertje-amersfoort.example.org"
LONG_NAME = "Sanne van der Heijden-Bakker"
LONG_ORGANISATION = "Stichting Kinderopvang Het Vrolijke Vlindertje, locatie Amersfoort-Noord"
LONG_ROLE = "Pedagogisch medewerker en aandachtsfunctionaris huiselijk geweld en kindermishandeling"

# Each email case: (name, recipient, kind). The sweep renders the HTML part.
EMAILS = (
    ("confirm", "nieuw", "confirm"),
    ("already_registered", "sanne", "already_registered"),
    ("question", "sanne", "question"),
    ("question-with-reminder", "karin", "question"),
    ("followup-with-organisation", "sanne", "followup"),
    ("followup-without-organisation", "piet", "followup"),
    ("summary", "sanne", "summary"),
    ("repeat", "sanne", "repeat"),
)


@dataclass
class World:
    """Ids and tokens of what the sweep visits."""

    app: Flask
    url: str = ""  # where the app server listens
    campaign_id: int = 0
    closed_slug: str = ""
    slug: str = ""
    set_id: int = 0
    set_slug: str = ""
    set_version: int = 0
    people: dict[str, int] = field(default_factory=dict)  # role name -> participant id
    question_ids: list[int] = field(default_factory=list)
    option_ids: list[list[int]] = field(default_factory=list)
    emails: dict[str, str] = field(default_factory=dict)  # email case -> HTML part
    mailbox_keys: list[str] = field(default_factory=list)  # the dev mailbox's messages
    _fresh: int = 0

    def pid(self, who: str) -> int:
        """A named participant's id; "fresh…" makes a new one (see `fresh`)."""
        if who == "fresh-answered":  # answered day 2, not discussed yet
            return self.fresh(answered=2)
        if who.startswith("fresh"):
            return self.fresh("pending" if who == "fresh-pending" else "active")
        return self.people[who]

    def manage(self, who: str = "sanne") -> str:
        return links.manage_token(self.pid(who))

    def confirm(self, who: str) -> str:
        return links.confirm_token(self.pid(who))

    def unsubscribe(self, who: str) -> str:
        return links.unsubscribe_token(self.pid(who))

    def discussed(self, who: str, day: int) -> str:
        return links.discussed_token(self.pid(who), self.question_ids[day - 1])

    def preview(self, day: int, option: int) -> str:
        return links.preview_token(self.question_ids[day - 1], self.option_ids[day - 1][option])

    def answer_token(self, who: str, day: int, option: int | None = None) -> str:
        option_id = self.option_ids[day - 1][option] if option is not None else None
        return links.answer_token(self.pid(who), self.question_ids[day - 1], option_id)

    def repeat(self, who: str, day: int, option: int | None = None) -> str:
        """A link of the round-1 repeat of question `day` (sent in _send_emails)."""
        option_id = self.option_ids[day - 1][option] if option is not None else None
        return links.repeat_token(self.pid(who), self.question_ids[day - 1], 1, option_id)

    def stop_repeats(self, who: str) -> str:
        return links.repeats_stop_token(self.pid(who))

    def fresh(self, status: str = "active", answered: int | None = None) -> int:
        """A new participant of the campaign, for a page that a POST changes
        (unsubscribe, erase, answer): each visit gets one of its own."""
        self._fresh += 1
        with session_scope(self.app) as s:
            campaign = s.get(Campaign, self.campaign_id)
            person = make_participant(
                s,
                campaign,
                utcnow(),
                email=f"vers{self._fresh}@example.org",
                organisation="Huisartsenpraktijk De Brink",
                status=status,
            )
            if answered:
                qs = campaign.question_set
                answer(s, person, qs, answered, qs.questions[answered - 1].options[0].label)
            return person.id


def build(app: Flask) -> World:
    world = World(app)
    now = utcnow()
    with session_scope(app) as s:
        make_organiser(s)
        qs = import_meldcode(s, now)
        campaign = make_campaign(s, now, slug="week-2026", name="Week tegen Kindermishandeling 2026",
                                 question_set_id=qs.id)  # fmt: skip
        # Repeats and certificates on, so their pages and emails are swept too.
        campaign.repeats, campaign.certificates_enabled = "wrong", True
        closed = make_campaign(s, now, slug="voorjaar-2026", name="MeldcodeQuiz voorjaar",
                               question_set_id=qs.id, signup_closes_at=now - timedelta(days=1))  # fmt: skip
        world.campaign_id, world.slug, world.closed_slug = campaign.id, campaign.slug, closed.slug
        world.set_id, world.set_slug, world.set_version = qs.id, qs.slug, qs.version
        world.question_ids = [q.id for q in qs.questions]
        world.option_ids = [[o.id for o in q.options] for q in qs.questions]
        _people(s, world, campaign, qs)
    _send_emails(world)
    return world


def _people(s: Session, world: World, campaign: Campaign, qs: QuestionSet) -> None:
    now = utcnow()
    long_details = {"name": LONG_NAME, "organisation": LONG_ORGANISATION, "role": LONG_ROLE}
    sanne = make_participant(s, campaign, now, email=LONG_EMAIL, sector="kinderopvang", **long_details)
    # Enough colleagues for both figures: all participants (10) and the own organisation (5).
    for i in range(11):
        colleague = make_participant(s, campaign, now, email=f"collega{i}@example.org",
                                     organisation=LONG_ORGANISATION, sector="kinderopvang")  # fmt: skip
        for day in (1, 2):
            options = qs.questions[day - 1].options
            answer(s, colleague, qs, day, options[i % len(options)].label, discussed=i % 3 == 0)
    correct = qs.questions[0].correct_option
    wrong = next(o for o in qs.questions[1].options if not o.is_correct)
    assert correct is not None
    answer(s, sanne, qs, 1, correct.label, discussed=True)
    answer(s, sanne, qs, 2, wrong.label)
    piet = make_participant(s, campaign, now, email="piet@example.org", organisation="Wijkteam Oost")
    answer(s, piet, qs, 1, correct.label)
    karin = make_participant(s, campaign, now, email="karin@example.org", name="Karin")
    nieuw = make_participant(s, campaign, now, email="nieuw@example.org", status="pending",
                             confirmed_at=None, first_quiz_day=None)  # fmt: skip
    world.people = {"sanne": sanne.id, "piet": piet.id, "karin": karin.id, "nieuw": nieuw.id}


def _send_emails(world: World) -> None:
    """One email of each kind, through the outbox and the real sender into
    the dev mailbox; Karin's day-3 question lists days 1 and 2 as open."""
    app, people, questions = world.app, world.people, world.question_ids
    now = utcnow()

    def queue(who: str, kind: str, day: int = 0) -> None:
        with session_scope(app) as s:
            question_id = questions[day % 100 - 1] if day else None
            enqueue(s, participant_id=people[who], kind=kind, day=day, question_id=question_id,
                    due_at=now, now=now)  # fmt: skip
            s.commit()

    for day in (1, 2, 3):
        queue("sanne", "question", day)
    queue("karin", "question", 1)
    queue("karin", "question", 2)
    queue("nieuw", "confirm")
    queue("sanne", "already_registered")
    queue("sanne", "followup", 1)
    queue("piet", "followup", 1)
    queue("sanne", "summary")
    queue("sanne", "repeat", 102)  # round 1 of question 2, which she got wrong
    queue("piet", "repeat", 102)  # ... which Piet left open; he answers the repeat below
    send_due(app, utcnow, "sweep")
    queue("karin", "question", 3)  # after days 1 and 2 went out: the reminder block
    send_due(app, utcnow, "sweep")
    with session_scope(app) as s:
        piets_option = world.option_ids[1][0]
        s.add(RepeatAnswer(participant_id=people["piet"], question_id=questions[1], round=1,
                           option_id=piets_option, answered_at=now))  # fmt: skip
        s.commit()
        statuses = s.scalars(select(Participant.status).where(Participant.id.in_(people.values()))).all()
        assert "bounced" not in statuses

    box = mailbox.Maildir(app.config["QUIZ_DEV_MAILBOX_DIR"], create=False)
    world.mailbox_keys = sorted(box.iterkeys())
    messages = [message_from_bytes(box.get_bytes(k), policy=policy.default) for k in world.mailbox_keys]
    for name, who, kind in EMAILS:
        world.emails[name] = _html(_pick(messages, world, name, who, kind))
    # Each case shows what its name says.
    assert "jouw organisatie" in world.emails["followup-with-organisation"]
    assert "van iedereen" in world.emails["followup-with-organisation"]
    assert "jouw organisatie" not in world.emails["followup-without-organisation"]
    assert "Nog niet beantwoord" in world.emails["question-with-reminder"]
    assert "Nog niet beantwoord" not in world.emails["question"]


_ADDRESSES = {"sanne": LONG_EMAIL, "piet": "piet@example.org", "karin": "karin@example.org",
              "nieuw": "nieuw@example.org"}  # fmt: skip
_SUBJECTS = {
    "confirm": "Bevestig",
    "already_registered": "doet al mee",
    "question": "Vraag 1 van",
    "question-with-reminder": "Vraag 3 van",
    "followup-with-organisation": "Praat erover",
    "followup-without-organisation": "Praat erover",
    "summary": "uitslag",
    "repeat": "Herhaalvraag",
}


def _pick(messages: list[EmailMessage], world: World, name: str, who: str, kind: str) -> EmailMessage:
    address = _ADDRESSES[who]
    found = [
        m
        for m in messages
        if address in str(m["To"]) and _SUBJECTS[name].lower() in str(m["Subject"]).lower()
    ]
    assert len(found) == 1, f"email {name}: {len(found)} messages to {address} with {_SUBJECTS[name]!r}"
    return found[0]


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, message["Subject"]
    return part.get_content()
