"""wrk pinned to a core of its own, so a one-worker server's tail latency is the server's."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from bench.__main__ import build_parser
from bench.scenarios import Load
from bench.servers import free_port

from bench import wrk
from tests.support.polling import eventually_sync


def _allowed_cpus(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no Cpus_allowed_list")


def _is_wrk(pid: int) -> None:
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "wrk"


def test_wrk_runs_only_on_the_cpus_its_job_names() -> None:
    last = max(os.sched_getaffinity(0))
    job = wrk.WrkJob("get.lua", f"http://127.0.0.1:{free_port()}", 1, 1, 5, {"BENCH_PATH": "/"})
    process = wrk.start(replace(job, cpus=(last,)))
    try:
        # taskset sets the mask, then becomes wrk under the same process id.
        eventually_sync(lambda: _is_wrk(process.pid))
        assert _allowed_cpus(process.pid) == str(last)
    finally:
        process.kill()
        process.communicate()


def test_an_unpinned_job_runs_wherever_this_process_may() -> None:
    job = wrk.WrkJob("get.lua", f"http://127.0.0.1:{free_port()}", 1, 1, 5, {"BENCH_PATH": "/"})
    process = wrk.start(job)
    try:
        eventually_sync(lambda: _is_wrk(process.pid))
        assert _allowed_cpus(process.pid) == _allowed_cpus(os.getpid())
    finally:
        process.kill()
        process.communicate()


def test_by_default_wrk_gets_the_last_cpu_and_a_thread_for_it() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    load = Load.of(build_parser().parse_args([]))
    if len(cpus) >= 2:
        assert load.wrk_cpus == (cpus[-1],)
        assert load.threads == 1
        assert f"pinned to CPU {cpus[-1]}" in load.describe()
    else:
        assert load.wrk_cpus == ()
        assert "not pinned" in load.describe()
    assert load.job("get.lua", "http://127.0.0.1:1", {}).cpus == load.wrk_cpus


def test_no_pin_wrk_leaves_wrk_unpinned_with_a_thread_per_core() -> None:
    load = Load.of(build_parser().parse_args(["--no-pin-wrk"]))
    assert load.wrk_cpus == ()
    assert load.threads == os.cpu_count()
    assert "not pinned" in load.describe()


def test_threads_and_shorter_loads_keep_the_pinning() -> None:
    load = Load.of(build_parser().parse_args(["--threads", "3", "--duration", "7"]))
    assert load.threads == 3
    assert load.seconds == 7
    short = load.lasting(0.5)
    assert (short.seconds, short.threads, short.wrk_cpus) == (0.5, 3, load.wrk_cpus)
    refresh = load.job("refresh.lua", "http://127.0.0.1:1", {}, threads=50)
    assert (refresh.threads, refresh.connections, refresh.cpus) == (50, 50, load.wrk_cpus)
