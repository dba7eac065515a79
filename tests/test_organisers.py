"""Organiser accounts: password hashing, the login check, the idle rule, the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from quiz.admin.organisers import (
    DUMMY_HASH,
    IDLE_TIMEOUT,
    authenticate,
    hash_password,
    idle_expired,
    password_problem,
)
from quiz.models import Organiser
from tests.admin_factories import EMAIL, PASSWORD, make_organiser
from tests.conftest import at

NOW = at("2026-11-16 10:00")


def test_passwords_are_hashed_with_scrypt_and_salted():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt:")
    assert first != second  # a salt per hash
    assert PASSWORD not in first


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("kort", "at least 12"),
        ("elf-tekens!", "at least 12"),
        (" met spatie ervoor", "space"),
        ("x" * 201, "at most 200"),
        ("twaalf-tekens", None),
    ],
)
def test_password_rule_is_about_length(password, problem):
    result = password_problem(password)
    assert (result is None) if problem is None else (problem in result)


def test_the_dummy_hash_costs_what_a_real_one_costs():
    """Unknown addresses are checked against it: same method and cost
    parameters as every new password's hash, so the same time."""
    assert DUMMY_HASH.split("$")[0] == hash_password(PASSWORD).split("$")[0]


@pytest.mark.parametrize(
    ("idle", "expired"),
    [(timedelta(0), False), (IDLE_TIMEOUT, False), (IDLE_TIMEOUT + timedelta(seconds=1), True)],
)
def test_idle_timeout(idle, expired):
    assert idle_expired(NOW - idle, NOW) is expired
    assert idle_expired(None, NOW) is True


def test_authenticate_outcomes(session):
    organiser = make_organiser(session)
    assert authenticate(session, "niemand@example.org", PASSWORD, NOW).outcome == "wrong"
    assert authenticate(session, EMAIL, "fout-wachtwoord!!", NOW).outcome == "wrong"
    session.refresh(organiser)
    assert organiser.last_login_at is None

    ok = authenticate(session, " Organisator@Example.org ", PASSWORD, NOW)
    assert ok.outcome == "ok"
    session.refresh(organiser)
    assert organiser.last_login_at == NOW


def test_a_disabled_account_is_only_named_so_after_the_right_password(session):
    make_organiser(session, active=False)
    assert authenticate(session, EMAIL, "fout-wachtwoord!!", NOW).outcome == "wrong"
    assert authenticate(session, EMAIL, PASSWORD, NOW).outcome == "disabled"


# --- CLI ---------------------------------------------------------------------


def test_cli_add_with_password_on_stdin(runner, session):
    result = runner.invoke(args=["quiz", "organiser", "add", "Anna@Example.org", "--password-stdin"],
                           input=PASSWORD + "\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created organiser anna@example.org" in result.output
    organiser = session.scalar(select(Organiser).where(Organiser.email == "anna@example.org"))
    assert organiser is not None and organiser.active
    assert authenticate(session, "anna@example.org", PASSWORD, NOW).outcome == "ok"


def test_cli_add_prompts_twice_for_the_password(runner, session):
    result = runner.invoke(
        args=["quiz", "organiser", "add", "bram@example.org"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # not echoed
    assert session.scalar(select(Organiser.id).where(Organiser.email == "bram@example.org")) is not None


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("geen-adres", PASSWORD, "not a valid email address"),
        ("kees@example.org", "kort", "at least 12 characters"),
        (EMAIL, PASSWORD, "exists already"),
    ],
)
def test_cli_add_refuses_bad_input_and_changes_nothing(runner, session, email, password, message):
    make_organiser(session)
    result = runner.invoke(
        args=["quiz", "organiser", "add", email, "--password-stdin"], input=password + "\n"
    )
    assert result.exit_code == 1
    assert message in result.output
    assert len(session.scalars(select(Organiser)).all()) == 1


def test_cli_list_and_disable(runner, session):
    make_organiser(session)
    listed = runner.invoke(args=["quiz", "organiser", "list"])
    assert EMAIL in listed.output and "active" in listed.output and "never" in listed.output

    disabled = runner.invoke(args=["quiz", "organiser", "disable", EMAIL])
    assert disabled.exit_code == 0 and f"Disabled {EMAIL}" in disabled.output
    session.expire_all()
    assert authenticate(session, EMAIL, PASSWORD, NOW).outcome == "disabled"
    assert "disabled" in runner.invoke(args=["quiz", "organiser", "list"]).output

    enabled = runner.invoke(args=["quiz", "organiser", "enable", EMAIL])
    assert enabled.exit_code == 0
    session.expire_all()
    assert authenticate(session, EMAIL, PASSWORD, NOW).outcome == "ok"


def test_cli_disable_unknown_organiser(runner, session):
    result = runner.invoke(args=["quiz", "organiser", "disable", "niemand@example.org"])
    assert result.exit_code == 1
    assert "no organiser niemand@example.org" in result.output


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("niemand@example.org", "een-heel-nieuw-wachtwoord", "no organiser niemand@example.org"),
        (EMAIL, "kort", "at least 12 characters"),
    ],
)
def test_cli_password_refuses_bad_input_and_changes_nothing(runner, session, email, password, message):
    organiser = make_organiser(session)
    before = organiser.password_hash, organiser.session_version
    result = runner.invoke(args=["quiz", "organiser", "password", email, "--password-stdin"],
                           input=password + "\n")  # fmt: skip
    assert result.exit_code == 1
    assert message in result.output
    session.expire_all()
    assert (organiser.password_hash, organiser.session_version) == before
