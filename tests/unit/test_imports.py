"""The floors below the API know nothing of HTTP: importing them loads no web framework."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Run in a fresh interpreter: this one has long since imported the app and its framework. A
# package's modules are imported too, so `authsvc.services` means every service module.
PROBE = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    package = importlib.import_module(sys.argv[1])
    for info in pkgutil.iter_modules(getattr(package, "__path__", []), package.__name__ + "."):
        importlib.import_module(info.name)
    print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in {"fastapi", "starlette"})))
    """
)


@pytest.mark.parametrize(
    "module", ["authsvc.store", "authsvc.tokens", "authsvc.services", "authsvc.errors"]
)
def test_domain_module_imports_no_web_framework(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [], f"{module} loads {result.stdout.strip()}"
