"""`quiz check`: the production settings check."""

from __future__ import annotations

import logging

import pytest

from quiz.ops.checks import Layout, Relay, check, log_findings, web_workers

GOOD = {
    "QUIZ_ENV": "production",
    "QUIZ_SECRET_KEY": "k" * 48,
    "QUIZ_DATABASE_URL": "postgresql+psycopg://quiz@db/quiz",
    "QUIZ_BASE_URL": "https://meldcodequiz.nl",
    "QUIZ_MAIL_BACKEND": "smtp",
    "QUIZ_RATELIMIT_STORAGE_URL": "redis://cache:6379/0",
    "QUIZ_DKIM_KEY_FILE": None,  # set per test: needs a real file
    "QUIZ_DKIM_SELECTOR": "quiz2026",
    "QUIZ_DKIM_DOMAIN": "meldcodequiz.nl",
    "QUIZ_BOUNCE_ADDRESS": "bounces@meldcodequiz.nl",
    "QUIZ_IMAP_URL": "imaps://bounces:pw@imap.meldcodequiz.nl/INBOX",
    "QUIZ_PROXY_HOPS": 1,
    "QUIZ_METRICS_TOKEN": None,
    "QUIZ_MAIL_FROM": "MeldcodeQuiz <quiz@mail.meldcodequiz.nl>",
    "QUIZ_ORGANISATION_NAME": "Stichting MeldcodeQuiz",
    "QUIZ_CONTACT_EMAIL": "info@meldcodequiz.nl",
    "QUIZ_PRIVACY_CONTACT": "privacy@meldcodequiz.nl",
}
SCALED = Layout(web_workers=5, schedulers=2)


@pytest.fixture
def good(tmp_path):
    key = tmp_path / "dkim.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    return {**GOOD, "QUIZ_DKIM_KEY_FILE": str(key)}


def settings_of(findings):
    return {(f.level, f.setting) for f in findings}


def test_a_complete_production_setup_has_no_findings(good):
    assert check(good, SCALED) == []


@pytest.mark.parametrize(
    "change, layout, expected",
    [
        ({"QUIZ_SECRET_KEY": None}, SCALED, ("error", "QUIZ_SECRET_KEY")),
        ({"QUIZ_SECRET_KEY": "dev-only-not-secret"}, SCALED, ("error", "QUIZ_SECRET_KEY")),
        ({"QUIZ_SECRET_KEY": "short"}, SCALED, ("error", "QUIZ_SECRET_KEY")),
        ({"QUIZ_DATABASE_URL": "sqlite:////srv/quiz.sqlite3"}, SCALED, ("error", "QUIZ_DATABASE_URL")),
        (
            {"QUIZ_DATABASE_URL": "sqlite:////srv/quiz.sqlite3"},
            Layout(1, 1),
            ("warning", "QUIZ_DATABASE_URL"),
        ),
        ({"QUIZ_BASE_URL": "http://meldcodequiz.nl"}, SCALED, ("error", "QUIZ_BASE_URL")),
        ({"QUIZ_MAIL_BACKEND": "dev"}, SCALED, ("error", "QUIZ_MAIL_BACKEND")),
        ({"QUIZ_RATELIMIT_STORAGE_URL": "memory://"}, SCALED, ("error", "QUIZ_RATELIMIT_STORAGE_URL")),
        ({"QUIZ_DKIM_KEY_FILE": None}, SCALED, ("warning", "QUIZ_DKIM_KEY_FILE")),
        ({"QUIZ_DKIM_KEY_FILE": "/nonexistent/dkim.pem"}, SCALED, ("error", "QUIZ_DKIM_KEY_FILE")),
        ({"QUIZ_DKIM_SELECTOR": None}, SCALED, ("error", "QUIZ_DKIM_SELECTOR")),
        ({"QUIZ_DKIM_DOMAIN": "other.nl"}, SCALED, ("warning", "QUIZ_DKIM_DOMAIN")),
        ({"QUIZ_IMAP_URL": None}, SCALED, ("warning", "QUIZ_IMAP_URL")),
        ({"QUIZ_IMAP_URL": "imap://u:p@imap/INBOX"}, SCALED, ("error", "QUIZ_IMAP_URL")),
        ({"QUIZ_BOUNCE_ADDRESS": None, "QUIZ_IMAP_URL": None}, SCALED, ("warning", "QUIZ_BOUNCE_ADDRESS")),
        ({"QUIZ_METRICS_TOKEN": "abc"}, SCALED, ("error", "QUIZ_METRICS_TOKEN")),
        ({"QUIZ_PROXY_HOPS": 0}, SCALED, ("warning", "QUIZ_PROXY_HOPS")),
        ({"QUIZ_SMTP_CONNECTIONS": "4"}, SCALED, ("warning", "QUIZ_SMTP_CONNECTIONS")),
        ({"QUIZ_ORGANISATION_NAME": "het MeldcodeQuiz-team"}, SCALED, ("warning", "QUIZ_ORGANISATION_NAME")),
        ({"QUIZ_CONTACT_EMAIL": "contact@meldcodequiz.localhost"}, SCALED, ("warning", "QUIZ_CONTACT_EMAIL")),
        ({"QUIZ_PRIVACY_CONTACT": "p@quiz.localhost"}, SCALED, ("warning", "QUIZ_PRIVACY_CONTACT")),
        ({"QUIZ_ORGANISER_NAME": "GGD Voorbeeldstad"}, SCALED, ("warning", "QUIZ_ORGANISER_NAME")),
    ],
)
def test_each_problem_is_found_alone(good, change, layout, expected):
    assert settings_of(check({**good, **change}, layout)) == {expected}


def test_memory_limits_are_fine_with_one_worker(good):
    assert check({**good, "QUIZ_RATELIMIT_STORAGE_URL": "memory://"}, Layout(1, 2)) == []


def test_web_workers_follow_web_concurrency_else_the_gunicorn_file(tmp_path):
    assert web_workers({"WEB_CONCURRENCY": "1"}) == 1
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("workers = 7\n")
    assert web_workers({}, conf) == 7
    assert web_workers({}, tmp_path / "missing.py") == 1


def test_cli_lists_problems_and_fails(app, runner, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    app.config.update(QUIZ_SCHEDULER_PROCESSES=2)  # SQLite in the default test run
    result = runner.invoke(args=["quiz", "check"])
    assert result.exit_code == 1
    assert "Layout: 4 web worker(s) per server, 2 scheduler(s)." in result.output
    assert "ERROR   QUIZ_BASE_URL: http://quiz.test is not https" in result.output
    assert "ERROR   QUIZ_RATELIMIT_STORAGE_URL: memory:// with 4 web workers" in result.output
    assert "WARNING QUIZ_DKIM_KEY_FILE: no DKIM key" in result.output


def test_cli_shows_each_scheduler_process_its_share_of_the_rate(app, runner):
    app.config.update(QUIZ_SCHEDULER_PROCESSES=4, QUIZ_SMTP_RATE=100)
    result = runner.invoke(args=["quiz", "check"])
    assert "Sending: at most 100 messages/s in all, 25 per scheduler process." in result.output


def test_cli_passes_a_good_setup_and_strict_fails_on_warnings(app, runner, good, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    app.config.update(good)
    result = runner.invoke(args=["quiz", "check"])
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)." in result.output
    app.config.update(QUIZ_PROXY_HOPS=0)
    assert runner.invoke(args=["quiz", "check"]).exit_code == 0
    assert runner.invoke(args=["quiz", "check", "--strict"]).exit_code == 1


def test_start_up_logs_findings_in_production_only(good, caplog, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    with caplog.at_level(logging.WARNING, logger="quiz.ops.checks"):
        assert log_findings({**good, "QUIZ_ENV": "development", "QUIZ_BASE_URL": "http://x"}) == []
        found = log_findings({**good, "QUIZ_BASE_URL": "http://x"})
    assert [f.setting for f in found] == ["QUIZ_BASE_URL"]
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "quiz check: ERROR   QUIZ_BASE_URL" in caplog.records[0].getMessage()


# --- the relay: reachable, and SMTPUTF8 as QUIZ_SMTPUTF8 says (issue 17, item 6) ----


@pytest.mark.parametrize(
    "smtputf8, relay, expected",
    [
        (False, Relay(frozenset({"8bitmime"})), set()),
        (True, Relay(frozenset({"8bitmime", "smtputf8"})), set()),
        (True, Relay(frozenset({"8bitmime"})), {("error", "QUIZ_SMTPUTF8")}),
        (False, Relay(frozenset({"smtputf8"})), {("warning", "QUIZ_SMTPUTF8")}),
        (False, Relay(error="connection refused"), {("error", "QUIZ_SMTP_URL")}),
    ],
)
def test_the_relay_is_asked_about_smtputf8(good, smtputf8, relay, expected):
    assert settings_of(check({**good, "QUIZ_SMTPUTF8": smtputf8}, SCALED, relay)) == expected


def test_cli_asks_the_real_relay(app, runner, good, smtp, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    app.config.update(good, QUIZ_SMTPUTF8=True)  # the test relay does not offer SMTPUTF8
    result = runner.invoke(args=["quiz", "check"])
    assert result.exit_code == 1
    assert "ERROR   QUIZ_SMTPUTF8: on, but the relay does not offer SMTPUTF8" in result.output
    smtp.smtputf8 = True
    assert runner.invoke(args=["quiz", "check"]).exit_code == 0
    app.config.update(QUIZ_SMTPUTF8=False)
    assert (
        "WARNING QUIZ_SMTPUTF8: off, but the relay offers SMTPUTF8"
        in runner.invoke(args=["quiz", "check"]).output
    )
    app.config.update(QUIZ_SMTP_URL="smtp://127.0.0.1:1?timeout=2")
    result = runner.invoke(args=["quiz", "check"])
    assert result.exit_code == 1 and "ERROR   QUIZ_SMTP_URL: the relay cannot be reached" in result.output
