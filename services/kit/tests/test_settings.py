"""Settings: insecure development defaults are refused in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from suara_intake.settings import DEV_RECEIPT_KEY, IntakeSettings
from suara_kit.settings import ServiceSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SUARA_ENV", "SUARA_INTAKE_RECEIPT_KEY", "SUARA_INTAKE_ATTACHMENT_KEY",
                 "SUARA_INTAKE_CONTENT_KEY", "SUARA_EVENTS_KEY", "SUARA_INTAKE_DATABASE_URL",
                 "SUARA_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_production_refuses_the_default_receipt_key() -> None:
    with pytest.raises(ValidationError, match="SUARA_INTAKE_RECEIPT_KEY"):
        IntakeSettings(env="production")


def test_production_refuses_the_default_key_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUARA_ENV", "production")
    with pytest.raises(ValidationError, match="development default"):
        IntakeSettings()


def test_production_accepts_a_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUARA_ENV", "production")
    monkeypatch.setenv("SUARA_INTAKE_RECEIPT_KEY", "a-long-random-production-secret")
    with pytest.raises(ValidationError, match="SUARA_INTAKE_ATTACHMENT_KEY"):
        IntakeSettings()  # the attachment key is a secret of its own
    monkeypatch.setenv("SUARA_INTAKE_ATTACHMENT_KEY", "another-long-random-secret")
    with pytest.raises(ValidationError, match="SUARA_INTAKE_CONTENT_KEY"):
        IntakeSettings()  # and so is the key that wraps the per-report data keys
    monkeypatch.setenv("SUARA_INTAKE_CONTENT_KEY", "a-third-long-random-secret")
    with pytest.raises(ValidationError, match="SUARA_EVENTS_KEY"):
        IntakeSettings()  # and the key every service shares to seal event payloads
    monkeypatch.setenv("SUARA_EVENTS_KEY", "a-fourth-long-random-secret")
    settings = IntakeSettings()
    assert settings.env == "production"
    assert settings.receipt_key.get_secret_value() == "a-long-random-production-secret"
    assert "a-long-random" not in repr(settings)


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_and_test_accept_the_default(env: str) -> None:
    settings = IntakeSettings(env=env)  # type: ignore[arg-type]
    assert settings.receipt_key.get_secret_value() == DEV_RECEIPT_KEY
    assert settings.insecure_defaults() == {"SUARA_INTAKE_RECEIPT_KEY": True,
                                            "SUARA_INTAKE_ATTACHMENT_KEY": True,
                                            "SUARA_INTAKE_CONTENT_KEY": True,
                                            "SUARA_EVENTS_KEY": True}


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError):
        IntakeSettings(env="staging")  # type: ignore[arg-type]


def test_default_database_is_a_sqlite_file_under_var(tmp_path: Path) -> None:
    settings = IntakeSettings(var_dir=tmp_path)
    expected = (tmp_path / "db" / "intake.sqlite").resolve()
    assert settings.resolved_database_url() == f"sqlite+aiosqlite:///{expected}"
    assert IntakeSettings(database_url="postgresql+asyncpg://h/i").resolved_database_url() == (
        "postgresql+asyncpg://h/i")


def test_every_service_refuses_the_development_content_key() -> None:
    with pytest.raises(ValidationError, match="SUARA_CONTENT_KEY"):
        ServiceSettings(env="production")
    settings = ServiceSettings(env="production", content_key="a-real-production-content-key",
                               events_key="a-real-production-events-key")
    assert settings.insecure_defaults() == {"SUARA_CONTENT_KEY": False,
                                            "SUARA_EVENTS_KEY": False}
