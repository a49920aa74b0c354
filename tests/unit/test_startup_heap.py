"""A serving app moves what it built at startup out of the collector's reach; others do not."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from asgi_lifespan import LifespanManager

from authsvc.app import create_app
from authsvc.settings import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    # The test process builds many apps: nothing it froze may outlive the test.
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
async def test_a_serving_app_freezes_its_startup_objects(settings: Settings) -> None:
    app = create_app(settings, serving=True)
    assert gc.get_freeze_count() == 0
    async with LifespanManager(app):
        services = app.state.services
        # The services built by the lifespan are among the frozen objects: no full
        # collection walks them again.
        assert gc.get_freeze_count() > 10_000
        frozen = {id(o) for o in gc.get_objects()}
        assert id(services) not in frozen


@pytest.mark.usefixtures("unfrozen")
async def test_other_apps_leave_the_collector_alone(settings: Settings) -> None:
    async with LifespanManager(create_app(settings)):
        assert gc.get_freeze_count() == 0
