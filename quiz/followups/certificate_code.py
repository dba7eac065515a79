"""The certificate's verification code: made, normalised, issued, looked up.

Random (`secrets`), 12 characters from an alphabet without look-alikes
(no 0/O, 1/I/L, U/V), shown as XXXX-XXXX-XXXX: about 58 bits, so guessing
one is hopeless even without the check page's rate limit. It is made on the
first download and kept in `Participant.certificate_code` (unique). Erasing
the participant's data clears it (quiz.rights.gdpr), and from then on the
public check says the code is not valid.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quiz.models import Participant

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
CODE_LENGTH = 12


def new_code() -> str:
    """A random code, e.g. 'K7QM-4XPD-9HT2'."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(text: str) -> str | None:
    """A code as someone typed it (any case, spaces or dashes anywhere) in its
    stored form; None when it cannot be one of ours."""
    raw = "".join(ch for ch in text.upper() if ch not in " -\t")
    if len(raw) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in raw):
        return None
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def issue_code(session: Session, participant: Participant) -> str:
    """The participant's code, made now when they have none. Commits.

    A conditional UPDATE: two first downloads at once both try, one sets
    the code and both read that one back. A clash with another participant's
    code (unique index) is retried with a new code.
    """
    for _ in range(5):
        if participant.certificate_code:
            return participant.certificate_code
        try:
            session.execute(
                update(Participant)
                .where(Participant.id == participant.id, Participant.certificate_code.is_(None))
                .values(certificate_code=new_code())
                .execution_options(synchronize_session=False)
            )
            session.commit()
        except IntegrityError:
            session.rollback()
        session.refresh(participant)
    raise RuntimeError("could not make a unique certificate code")


def holder_of(session: Session, code: str) -> Participant | None:
    """The participant a (normalised) code belongs to; None after erasure."""
    return session.scalar(
        select(Participant).where(Participant.certificate_code == code, Participant.status != "erased")
    )
