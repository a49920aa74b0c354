"""API tests run against every store (see tests/support/stores.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from authsvc.settings import Settings
from tests.support.settings import make_settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url)
