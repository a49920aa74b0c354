"""The app's wiring: FastAPI's OpenTelemetry bridge follows OPENTELEMETRY."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from authsvc.app import telemetry_config
from tests.support.settings import settings_without_database

REPO = Path(__file__).resolve().parents[2]

# In a fresh interpreter: OpenTelemetry's global tracer provider can be set once per process.
# A provider set up as an SDK would set it records every span FastAPI starts; the script prints
# the names of those spans after two requests to the app.
_SPANS_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from opentelemetry import trace

    class Recorder(trace.NoOpTracer):
        names = []

        def start_span(self, name, *args, **kwargs):
            Recorder.names.append(name)
            return super().start_span(name, *args, **kwargs)

    class Provider(trace.TracerProvider):
        def get_tracer(self, *args, **kwargs):
            return Recorder()

    trace.set_tracer_provider(Provider())

    from tests.support.apps import app_client
    from tests.support.settings import make_settings
    from pathlib import Path

    async def main():
        settings = make_settings(Path(sys.argv[1]), opentelemetry=sys.argv[2] == "on")
        async with app_client(settings) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/auth/verify")).status_code == 401
        print(json.dumps(Recorder.names))

    asyncio.run(main())
    """
)


def _spans(tmp_path: Path, switch: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _SPANS_SCRIPT, str(tmp_path), switch],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return names


@pytest.mark.parametrize(("switch", "reported"), [("on", True), ("off", False)])
def test_fastapi_reports_spans_to_a_configured_sdk_only_when_switched_on(
    tmp_path: Path, switch: str, reported: bool
) -> None:
    names = _spans(tmp_path, switch)
    if reported:
        # A span per request, named by its method until a route names it.
        assert names.count("GET") == 2, names
    else:
        assert names == []


def test_the_bridge_is_off_by_default() -> None:
    settings = settings_without_database()
    assert settings.opentelemetry is False
    assert telemetry_config(settings) == {"tracing": False, "metrics": False, "logs": False}
    assert telemetry_config(settings_without_database(opentelemetry=True)) == {}
