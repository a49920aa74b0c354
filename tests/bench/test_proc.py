"""What the benchmark reads from /proc: CPU time per process and per event-loop thread, the
workers of a server, and their resident memory, on real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import servers
from tests.support.polling import eventually_sync

# 14 utime, 15 stime: fields 12 and 13 after the command name.
STAT = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 99 1000 200"
STATUS = "Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t3\n"

# Burns CPU on a second thread while the main thread sleeps, then says so and waits.
BUSY_THREAD = """
import threading, time
def burn():
    end = time.process_time() + 0.6
    while time.process_time() < end:
        pass
thread = threading.Thread(target=burn)
thread.start()
thread.join()
print("done", flush=True)
time.sleep(60)
"""

# Two spawned children (uvicorn's way of starting workers) and an Event, which starts
# multiprocessing's resource tracker beside them.
SPAWNING = """
import multiprocessing, time
if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    children = [context.Process(target=stop.wait) for _ in range(2)]
    for child in children:
        child.start()
    print(" ".join(str(child.pid) for child in children), flush=True)
    time.sleep(60)
"""


def test_a_stat_line_is_read_after_the_last_parenthesis() -> None:
    assert servers.stat_fields(STAT)[:2] == ["S", "1"]
    assert servers.stat_cpu_ticks(STAT) == 300


def test_status_lines_give_kib_and_zero_when_absent() -> None:
    assert servers.status_kib(STATUS, "VmRSS") == 102_400
    assert servers.status_kib(STATUS, "VmHWM") == 204_800
    assert servers.status_kib(STATUS, "VmSwap") == 0


def test_machine_ticks_leave_idle_and_iowait_out_of_busy() -> None:
    # user nice system idle iowait irq softirq steal, then guest fields that user counts already
    line = "cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 50 2 25 400 20 1 1 0 3 0\n"
    assert servers.machine_ticks(line) == (160, 1000)
    assert servers.machine_busy((160, 1000), (250, 1100)) == 0.9
    assert servers.machine_busy((160, 1000), (160, 1000)) == 0.0


def test_a_busy_thread_shows_in_the_machines_busy_share(tmp_path: Path) -> None:
    before = servers.machine_now()
    with _python(BUSY_THREAD, tmp_path) as (_, done):
        assert done == "done"
        busy = servers.machine_busy(before, servers.machine_now())
    # 0.6 s of one core burnt: on any number of cores, some of the machine was busy.
    assert 0 < busy <= 1


@contextmanager
def _python(source: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    script = tmp_path / "child.py"
    script.write_text(source, encoding="utf-8")
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            assert process.stdout is not None
            yield process, process.stdout.readline().strip()
        finally:
            # The group: spawned children and the tracker outlive a killed parent.
            os.killpg(process.pid, signal.SIGKILL)


def test_the_event_loop_thread_is_counted_apart_from_the_others(tmp_path: Path) -> None:
    with _python(BUSY_THREAD, tmp_path) as (process, said):
        assert said == "done"
        pids = [process.pid]
        whole, loop = servers.cpu_seconds(pids), servers.loop_cpu_seconds(pids)

    assert whole >= 0.5  # the burning thread's 0.6 s, in ticks
    assert loop < whole - 0.4  # the main thread only started it and slept


def test_the_workers_are_the_spawned_children_not_the_tracker(tmp_path: Path) -> None:
    with _python(SPAWNING, tmp_path) as (process, said):
        spawned = sorted(int(pid) for pid in said.split())

        # The tracker and the children start before the pids are printed; wait for every
        # child's command line to be in place all the same.
        def found() -> None:
            assert servers.worker_pids(process.pid, 2) == spawned

        eventually_sync(found)
        tree = servers.process_tree(process.pid)
        rss = [servers.status_bytes(pid, "VmRSS") for pid in spawned]

    assert len(tree) == 4  # the parent, two children, the resource tracker
    assert servers.worker_pids(process.pid, 1) == [process.pid]
    assert all(value > 1_000_000 for value in rss)
