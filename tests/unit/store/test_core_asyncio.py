"""SQLAlchemy's asyncio engine without the ORM: the store runs on it, and whoever asks for the
session still gets it. Each check runs in a fresh interpreter, where nothing imported the
package before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_STORE_THEN_SESSION = """
import asyncio, json, sys
from authsvc.store import open_store

async def use(url):
    async with open_store(url, migrate=True) as store:
        await store.ping()

asyncio.run(use(sys.argv[1]))
after_store = "sqlalchemy.orm" in sys.modules

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

async def session_query(url):
    engine = create_async_engine(url)
    async with async_sessionmaker(engine)() as session:
        value = (await session.execute(text("SELECT 1"))).scalar_one()
    await engine.dispose()
    return value

print(json.dumps({
    "orm_after_store": after_store,
    "orm_after_session": "sqlalchemy.orm" in sys.modules,
    "session_query": asyncio.run(session_query(sys.argv[1])),
    "is_session": AsyncSession.__module__,
}))
"""

# Every public name of the package and where it comes from; "registered" asks the registered
# package for one name it was registered without, which brings the rest in.
_NAMES = """
import json, sys
if sys.argv[1] == "registered":
    from authsvc.store.core_asyncio import register_core_asyncio

    register_core_asyncio()
    import sqlalchemy.ext.asyncio as package

    package.AsyncSession
else:
    import sqlalchemy.ext.asyncio as package
names = sorted(name for name in dir(package) if not name.startswith("_"))
values = [getattr(package, name) for name in names]
print(json.dumps({
    name: [getattr(value, "__module__", None), getattr(value, "__qualname__", None)]
    for name, value in zip(names, values)
}))
"""


def _run(script: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def test_the_store_loads_no_orm_and_the_session_still_works(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'authsvc.db'}"

    assert _run(_STORE_THEN_SESSION, url) == {
        "orm_after_store": False,
        "orm_after_session": True,
        "session_query": 1,
        "is_session": "sqlalchemy.ext.asyncio.session",
    }


def test_the_package_ends_up_as_its_own_import_would_make_it() -> None:
    assert _run(_NAMES, "registered") == _run(_NAMES, "plain")
