"""Where settings come from: the environment, `.env`, then files in `SECRETS_DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import BeforeValidator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
)

T = TypeVar("T")

# Where Docker (and Compose) mount secrets; read when it exists and SECRETS_DIR is not set.
DEFAULT_SECRETS_DIR = Path("/run/secrets")


def ranked_sources(
    settings_cls: type[BaseSettings],
    init_settings: PydanticBaseSettingsSource,
    env_settings: PydanticBaseSettingsSource,
    dotenv_settings: PydanticBaseSettingsSource,
) -> tuple[PydanticBaseSettingsSource, ...]:
    """The sources in the order they win, the secrets directory last."""
    # pydantic-settings takes its secrets directory from the class, fixed before any value
    # is read; SECRETS_DIR is itself a setting, so the directory is picked here, from the
    # sources that outrank the files.
    outranking = (init_settings, env_settings, dotenv_settings)
    files = SecretsSettingsSource(settings_cls, secrets_dir=_secrets_dir(outranking))
    return (*outranking, files)


def _secrets_dir(sources: tuple[PydanticBaseSettingsSource, ...]) -> Path | None:
    """SECRETS_DIR from the first source that sets it; else /run/secrets if it exists."""
    for source in sources:
        value = source().get("secrets_dir")
        if value:
            path = Path(value)
            # A missing directory is refused by the field's validator, in one line.
            return path if path.is_dir() else None
    return DEFAULT_SECRETS_DIR if DEFAULT_SECRETS_DIR.is_dir() else None


def split_commas(value: object) -> object:
    """A list setting: comma-separated in the environment; a list when passed in code."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


# A list setting, comma-separated in the environment (NoDecode: not read as JSON).
CommaList = Annotated[list[T], NoDecode, BeforeValidator(split_commas)]
