"""Lowering one thread's scheduling priority, and only that thread's (Linux)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from authsvc.thread_priority import NICEST, lower_current_thread


def own_nice() -> int:
    """The calling thread's niceness (on Linux, PRIO_PROCESS with 0 names the caller)."""
    return os.getpriority(os.PRIO_PROCESS, 0)


def in_new_thread(work: Callable[[], int]) -> int:
    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(work()))
    thread.start()
    thread.join(timeout=10)
    return results[0]


def test_lowers_the_calling_thread_only() -> None:
    before = own_nice()

    def lowered() -> int:
        lower_current_thread(3)
        return own_nice()

    assert in_new_thread(lowered) == min(NICEST, before + 3)
    assert own_nice() == before


def test_adds_to_the_niceness_the_thread_has_up_to_the_largest() -> None:
    before = own_nice()

    def twice() -> int:
        lower_current_thread(4)
        first = own_nice()
        lower_current_thread(NICEST)
        return first * 100 + own_nice()

    assert in_new_thread(twice) == min(NICEST, before + 4) * 100 + NICEST


def test_zero_steps_leave_the_thread_alone() -> None:
    before = own_nice()

    def untouched() -> int:
        lower_current_thread(0)
        return own_nice()

    assert in_new_thread(untouched) == before


def test_a_refusal_is_logged_and_the_pool_still_works(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(which: int, who: int, priority: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "setpriority", refuse)
    caplog.set_level(logging.WARNING, logger="authsvc.thread_priority")
    with ThreadPoolExecutor(1, initializer=lower_current_thread, initargs=(5,)) as pool:
        assert pool.submit(lambda: 6 * 7).result(timeout=10) == 42
    assert any("scheduling priority" in r.getMessage() for r in caplog.records)
