"""SECRETS_DIR: any setting from a file named after it, as Docker and Compose mount secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from authsvc.settings import Settings
from authsvc.settings import sources as settings_module
from tests.support.settings import ACCESS_SECRET, REFRESH_SECRET

FILE_ACCESS = "file-access-secret-0123456789abcdef0123456789abcdef"
FILE_REFRESH = "file-refresh-secret-fedcba9876543210fedcba9876543210"


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    # Docker writes the value as given; an editor adds a final newline, which is not part of it.
    (directory / "access_token_secret").write_text(FILE_ACCESS + "\n")
    (directory / "REFRESH_TOKEN_SECRET").write_text(FILE_REFRESH)
    (directory / "port").write_text("9321\n")
    return directory


def test_every_setting_can_come_from_a_file_in_secrets_dir(
    monkeypatch: pytest.MonkeyPatch, secrets_dir: Path
) -> None:
    monkeypatch.setenv("SECRETS_DIR", str(secrets_dir))

    settings = Settings()

    assert settings.secret_values() == (FILE_ACCESS, FILE_REFRESH)
    assert settings.port == 9321
    assert settings.is_production
    assert not settings.has_ephemeral_secrets


def test_the_environment_wins_over_a_file(
    monkeypatch: pytest.MonkeyPatch, secrets_dir: Path
) -> None:
    monkeypatch.setenv("SECRETS_DIR", str(secrets_dir))
    monkeypatch.setenv("ACCESS_TOKEN_SECRET", ACCESS_SECRET)

    assert Settings().secret_values() == (ACCESS_SECRET, FILE_REFRESH)


def test_dotenv_wins_over_a_file_and_may_name_the_directory(secrets_dir: Path) -> None:
    # The tests run in tmp_path (conftest.py), where Settings looks for `.env`.
    Path(".env").write_text(f"SECRETS_DIR={secrets_dir}\nREFRESH_TOKEN_SECRET={REFRESH_SECRET}\n")

    assert Settings().secret_values() == (FILE_ACCESS, REFRESH_SECRET)


def test_run_secrets_is_read_by_default_when_it_exists(
    monkeypatch: pytest.MonkeyPatch, secrets_dir: Path
) -> None:
    # The real /run/secrets belongs to the machine; point the default at a directory of ours.
    monkeypatch.setattr(settings_module, "DEFAULT_SECRETS_DIR", secrets_dir)
    assert Settings().secret_values() == (FILE_ACCESS, FILE_REFRESH)

    monkeypatch.setattr(settings_module, "DEFAULT_SECRETS_DIR", secrets_dir / "absent")
    with pytest.raises(ValidationError, match="ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET"):
        Settings()


def test_a_secrets_dir_that_is_not_a_directory_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path / "missing"))
    monkeypatch.setenv("ACCESS_TOKEN_SECRET", ACCESS_SECRET)
    monkeypatch.setenv("REFRESH_TOKEN_SECRET", REFRESH_SECRET)

    with pytest.raises(ValidationError) as caught:
        Settings()
    (error,) = caught.value.errors()
    assert error["loc"] == ("secrets_dir",)
    assert "not a directory" in error["msg"]
