"""SQLAlchemy's asyncio engine without its ORM session.

The package module `sqlalchemy.ext.asyncio` re-exports `AsyncSession` and its scoped variant,
and importing those imports the whole ORM: about 6 MiB of every worker's memory, for a store
that uses Core only. `register_core_asyncio` registers the package with the names of its engine
and result modules alone (imported as usual, unchanged); the package's own module runs, and the
ORM with it, the first time something asks the package for any other name (`AsyncSession`,
say), so code that wants the session still gets it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any

PACKAGE = "sqlalchemy.ext.asyncio"
# What the package module takes from its engine and result modules (SQLAlchemy 2.0 and 2.1);
# a name left out here is not lost, it only brings the session in (see `_complete`).
_CORE_NAMES = {
    "engine": (
        "AsyncConnection",
        "AsyncEngine",
        "AsyncTransaction",
        "async_engine_from_config",
        "create_async_engine",
        "create_async_pool_from_url",
    ),
    "result": ("AsyncMappingResult", "AsyncResult", "AsyncScalarResult", "AsyncTupleResult"),
}


def register_core_asyncio() -> None:
    """Make `sqlalchemy.ext.asyncio` importable without the ORM, unless it is imported
    already (in full, or by an earlier call)."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:
        return  # no asyncio extension: the imports after this fail as they would have
    loader = spec.loader
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    try:
        for module_name, names in _CORE_NAMES.items():
            module = importlib.import_module(f"{PACKAGE}.{module_name}")
            for name in names:
                setattr(package, name, getattr(module, name))
        # What the package module does on import: greenlet, or an ImportError now.
        from sqlalchemy.util import concurrency

        concurrency._concurrency_shim._initialize()
    except BaseException:
        del sys.modules[PACKAGE]
        raise

    def _complete(name: str) -> Any:
        # Any other name: the package module runs in place, once, and answers from then on.
        # Two threads asking at once may both run it; it only imports and assigns names.
        if "__getattr__" in package.__dict__:
            del package.__dict__["__getattr__"]
            loader.exec_module(package)
        return _attribute(package, name)

    package.__dict__["__getattr__"] = _complete


def _attribute(module: ModuleType, name: str) -> Any:
    try:
        return module.__dict__[name]
    except KeyError:
        raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}") from None
