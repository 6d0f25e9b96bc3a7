"""Settings: validated, and development placeholders refused anywhere else."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.settings import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEY, Environment, Settings


def test_development_accepts_the_placeholders() -> None:
    settings = Settings(env=Environment.DEVELOPMENT)
    assert settings.encryption_keys == DEV_ENCRYPTION_KEY
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("lifeline.db")


@pytest.mark.parametrize("env", [Environment.PRODUCTION, Environment.TEST])
def test_placeholders_are_refused_outside_development(env: Environment) -> None:
    with pytest.raises(ValidationError, match="LIFELINE_ENCRYPTION_KEYS"):
        Settings(env=env)
    with pytest.raises(ValidationError, match="LIFELINE_BLIND_INDEX_KEY"):
        Settings(
            env=env, encryption_keys="k1:" + "A" * 43 + "=", blind_index_key=DEV_BLIND_INDEX_KEY
        )
    Settings(env=env, encryption_keys="k1:" + "A" * 43 + "=", blind_index_key="a-real-secret")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFELINE_DATABASE_URL", "postgresql+asyncpg://db.internal/lifeline")
    monkeypatch.setenv("LIFELINE_LOG_LEVEL", "warning")
    settings = Settings()
    assert settings.database_url == "postgresql+asyncpg://db.internal/lifeline"
    assert settings.log_level == "WARNING"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LIFELINE_DATABASE_URL", "mysql://x/y"),
        ("LIFELINE_LOG_LEVEL", "chatty"),
        ("LIFELINE_MAX_BODY_BYTES", "-1"),
    ],
)
def test_bad_settings_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("LIFELINE_").lower()):
        Settings()
