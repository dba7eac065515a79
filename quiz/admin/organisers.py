"""Organiser accounts: password hashing, the login check, sessions and the idle timeout.

Passwords are hashed with scrypt (werkzeug.security), a memory-hard
algorithm; the salt and cost parameters travel inside the stored hash, so a
later change of parameters keeps old hashes verifiable.

`authenticate` checks one login attempt and says what happened, without
revealing whether an unknown address or a wrong password was the reason, not
even by how long it takes. Too many wrong passwords are the rate limiter's
business (quiz.ratelimits: per account *and* client address, before
this is called), so that nobody elsewhere can lock the real organiser out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from quiz.models import Organiser

HASH_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
# An admin session that saw no request for this long has to log in again.
IDLE_TIMEOUT = timedelta(minutes=30)


# Verified against when the address is unknown, so that a wrong address
# takes as long as a wrong password and the timing does not tell which
# accounts exist. The hash of a random password nobody kept, with the cost
# parameters of hash_password (tests/test_organisers.py checks that they
# stay the same); a constant, as making it costs each web worker a scrypt.
DUMMY_HASH = (
    "scrypt:32768:8:1$10l5Yi0fOWAKGoGX$1289baf5ed6341d436dcc80509408da663c99d027cbaaf56b8ecdfaf4"
    "7682fa8765a5ab1a6bafcc17658b5b73f6c68741fe1441b573d9cf10cffa816c3f1de72"
)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None. (Operators set passwords
    from the command line, so the reasons are in English.)

    Length is the rule that matters (NIST SP 800-63B): at least 12
    characters, no composition rules.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must be at most {MAX_PASSWORD_LENGTH} characters long"
    if password.strip() != password:
        return "the password must not start or end with a space"
    return None


def normalise_email(email: str) -> str:
    """The address as stored: checked by email-validator and lower-cased, so that
    logging in does not depend on how the address is capitalised (ValueError if invalid)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"{email!r} is not a valid email address: {exc}") from exc


def idle_expired(last_seen: datetime | None, now: datetime) -> bool:
    """An admin session expires when its last request is more than IDLE_TIMEOUT ago
    (or unknown)."""
    return last_seen is None or now - last_seen > IDLE_TIMEOUT


@dataclass(frozen=True)
class LoginResult:
    # "ok", "wrong" (unknown address or wrong password) or "disabled"
    outcome: str
    organiser: Organiser | None = None


def authenticate(session: Session, email: str, password: str, now: datetime) -> LoginResult:
    """Check one login attempt; a success is recorded (commits).

    Every attempt costs one scrypt verification, against the dummy hash when
    the address is unknown, and a wrong one writes nothing: known and unknown
    addresses take the same time. A disabled account is only reported as
    such after the right password, so the message leaks nothing to a guesser.
    """
    try:
        address = normalise_email(email)
    except ValueError:
        address = email.strip().lower()
    organiser = session.scalar(select(Organiser).where(Organiser.email == address))
    if organiser is None:
        check_password_hash(DUMMY_HASH, password)
        return LoginResult("wrong")
    if not check_password_hash(organiser.password_hash, password):
        return LoginResult("wrong")
    if not organiser.active:
        return LoginResult("disabled", organiser)
    organiser.last_login_at = now
    session.commit()
    return LoginResult("ok", organiser)


def end_sessions(organiser: Organiser) -> None:
    """End every open session of `organiser` (the caller commits): their
    cookies hold the old session version, which no admin request accepts."""
    organiser.session_version = (organiser.session_version or 0) + 1


def change_password(session: Session, organiser: Organiser, password: str) -> None:
    """Set a new password and end the organiser's open sessions (commits);
    ValueError says why when the password is too weak."""
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    organiser.password_hash = hash_password(password)
    end_sessions(organiser)
    session.commit()


def create_organiser(session: Session, email: str, password: str, now: datetime) -> Organiser:
    """A new active organiser (commits). ValueError says why when the address is
    invalid or taken, or the password too weak."""
    address = normalise_email(email)
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    if session.scalar(select(Organiser.id).where(Organiser.email == address)) is not None:
        raise ValueError(f"an organiser {address} exists already")
    organiser = Organiser(
        email=address,
        password_hash=hash_password(password),
        active=True,
        created_at=now,
        session_version=0,
    )
    session.add(organiser)
    session.commit()
    return organiser
