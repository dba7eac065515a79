"""Organiser accounts: password hashing, the lockout rule and the idle timeout.

Passwords are hashed with scrypt (werkzeug.security), a memory-hard
algorithm; the salt and cost parameters travel inside the stored hash, so a
later change of parameters keeps old hashes verifiable.

The rules are pure functions that take `now`; `authenticate` applies them to
one login attempt and says what happened, without revealing to the caller
whether an unknown address or a wrong password was the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from quiz.models import Organiser

HASH_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
# After this many wrong passwords in a row the account is locked for a while:
# enough for typos, far too few to guess a password.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
# An admin session that saw no request for this long has to log in again.
IDLE_TIMEOUT = timedelta(minutes=30)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the address is unknown, so that a wrong address
    takes as long as a wrong password and the timing does not tell which
    accounts exist. Made on first use, not at import: scrypt takes 0.15-0.3 s
    of CPU, and every web worker (recycled after max_requests) imports this."""
    return generate_password_hash("not-a-password-of-anyone", method=HASH_METHOD)


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


def is_locked(organiser: Organiser, now: datetime) -> bool:
    """Locked while `locked_until` lies in the future."""
    return organiser.locked_until is not None and now < organiser.locked_until


def record_failure(organiser: Organiser, now: datetime) -> None:
    """One more wrong password in a row; the MAX_FAILED_LOGINS-th locks the
    account for LOCKOUT, and the count starts again after the lock."""
    organiser.failed_logins = (organiser.failed_logins or 0) + 1
    if organiser.failed_logins >= MAX_FAILED_LOGINS:
        organiser.locked_until = now + LOCKOUT
        organiser.failed_logins = 0


def record_success(organiser: Organiser, now: datetime) -> None:
    organiser.failed_logins = 0
    organiser.locked_until = None
    organiser.last_login_at = now


def idle_expired(last_seen: datetime | None, now: datetime) -> bool:
    """An admin session expires when its last request is more than IDLE_TIMEOUT ago
    (or unknown)."""
    return last_seen is None or now - last_seen > IDLE_TIMEOUT


@dataclass(frozen=True)
class LoginResult:
    # "ok", "wrong" (unknown address or wrong password), "locked" or "disabled"
    outcome: str
    organiser: Organiser | None = None


def authenticate(session: Session, email: str, password: str, now: datetime) -> LoginResult:
    """Check one login attempt and record its effect (commits).

    A locked account is refused without looking at the password, so guessing
    on during the lock gains nothing. A disabled account is only reported as
    such after the right password, so the message leaks nothing to a guesser.
    """
    try:
        address = normalise_email(email)
    except ValueError:
        address = email.strip().lower()
    organiser = session.scalar(select(Organiser).where(Organiser.email == address))
    if organiser is None:
        check_password_hash(_dummy_hash(), password)
        return LoginResult("wrong")
    if is_locked(organiser, now):
        return LoginResult("locked", organiser)
    if not check_password_hash(organiser.password_hash, password):
        record_failure(organiser, now)
        session.commit()
        return LoginResult("locked" if is_locked(organiser, now) else "wrong", organiser)
    if not organiser.active:
        return LoginResult("disabled", organiser)
    record_success(organiser, now)
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
        failed_logins=0,
        created_at=now,
        session_version=0,
    )
    session.add(organiser)
    session.commit()
    return organiser
