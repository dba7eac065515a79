"""Settings: environment over .env over embedded defaults; unsafe starts refused."""

from __future__ import annotations

import pytest

from quiz import create_app
from quiz.config import ConfigError, load_settings


def test_embedded_defaults_run_on_sqlite_and_the_dev_mailbox(tmp_path):
    settings = load_settings(environ={}, env_file=None, instance_path=tmp_path)
    assert settings["QUIZ_DATABASE_URL"] == f"sqlite:///{tmp_path / 'quiz.sqlite3'}"
    assert settings["QUIZ_MAIL_BACKEND"] == "dev"
    assert settings["QUIZ_DEV_MAILBOX_DIR"] == str(tmp_path / "dev-mailbox")
    assert settings["QUIZ_SECRET_KEY"]  # a development key, so `make run` needs no setup


def test_environment_wins_over_dotenv(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("QUIZ_BASE_URL=https://from-file.example/\nQUIZ_TOKEN_MAX_AGE_DAYS=3\n")
    settings = load_settings(
        environ={"QUIZ_BASE_URL": "https://from-env.example"}, env_file=env_file, instance_path=tmp_path
    )
    assert settings["QUIZ_BASE_URL"] == "https://from-env.example"
    assert settings["QUIZ_TOKEN_MAX_AGE_DAYS"] == 3  # parsed from the file


def test_fallback_keys_are_a_list(tmp_path):
    settings = load_settings(
        environ={"QUIZ_SECRET_KEY_FALLBACKS": "old1, old2"}, env_file=None, instance_path=tmp_path
    )
    assert settings["QUIZ_SECRET_KEY_FALLBACKS"] == ["old1", "old2"]


def test_production_without_secret_key_refuses_to_start(monkeypatch, tmp_path):
    monkeypatch.setenv("QUIZ_ENV", "production")
    monkeypatch.delenv("QUIZ_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="QUIZ_SECRET_KEY is not set"):
        create_app({"QUIZ_IGNORE_DOTENV": True, "QUIZ_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_importing_the_package_has_no_side_effects(tmp_path):
    import subprocess
    import sys

    code = (
        "import quiz, quiz.models, quiz.delivery.outbox, quiz.delivery.mailer; "
        "import os; print(sorted(os.listdir('.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"  # no instance/ folder, no database file
