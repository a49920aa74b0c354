"""Password hashing (argon2id, off the event loop) and the password policy (NIST SP 800-63B)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from authsvc.blocklist import Blocklist, load_common_passwords
from authsvc.cpus import available_cpus
from authsvc.errors import HashingBusy, PasswordRejected
from authsvc.heap import keep_hash_buffers, release_thread_heap
from authsvc.settings import Settings
from authsvc.thread_priority import lower_current_thread

T = TypeVar("T")

# How long a hashing thread waits for the others to join a release of their memory.
RELEASE_BARRIER_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """Outcome of a password check; `new_hash` is set when the stored hash is outdated."""

    ok: bool
    new_hash: str | None = None


def normalize_password(password: str) -> str:
    # SP 800-63B §5.1.1.2: normalise with NFKC before hashing so the same password typed on
    # different keyboards or input methods compares equal.
    return unicodedata.normalize("NFKC", password)


class PasswordService:
    """argon2id hashing in a bounded worker pool of its own, behind a bounded queue.

    argon2 is deliberately slow and blocks its thread, so it never runs on the event loop, and
    at most `concurrency` hashes run at once (default: the CPUs this process may use, see
    cpus.py): a login flood queues here instead of starving the threads everything else needs.
    The pool is separate from the shared thread pool so that argon2's 19 MiB buffers live in
    the malloc arenas of these few threads; spread over the shared pool's dozens of threads,
    each kept its own, and one worker grew by hundreds of megabytes under a login flood.

    The hashing threads run `hash_nice` steps below the event loop's scheduling priority
    (thread_priority.py): when the cores are busy, requests that need no hash go first, and
    hashing gets every cycle they leave.

    At most `hash_queue_limit` more wait for a thread; beyond that a check is refused at once
    (HashingBusy), so a flood costs neither memory without bound nor seconds of delay for
    every login behind it.

    Even so, glibc keeps each hashing thread's freed buffer resident (heap.py). Once no hash
    has run for `hash_idle_trim_seconds`, every hashing thread gives its arena's free memory
    back: a burst of logins leaves no 19 MiB per thread behind, and under steady load, when
    the buffers are reused at once, nothing is released and hashing pays no page faults.
    """

    def __init__(
        self, settings: Settings, *, release: Callable[[int], None] = release_thread_heap
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self.concurrency = settings.hash_concurrency or available_cpus()
        self._pool = ThreadPoolExecutor(
            max_workers=self.concurrency,
            thread_name_prefix="argon2",
            initializer=lower_current_thread,
            initargs=(settings.hash_nice,),
        )
        self._capacity = self.concurrency + settings.hash_queue_limit
        self._in_flight = 0  # queued or running; only touched on the event loop
        self._buffer_bytes = settings.argon2_memory_kib * 1024
        self._release = release
        self._idle_trim_seconds = settings.hash_idle_trim_seconds
        self._trim_timer: asyncio.TimerHandle | None = None  # only touched on the event loop
        if self._idle_trim_seconds > 0:
            keep_hash_buffers(self._buffer_bytes)
        # Unknown users are checked against this, so they cost the same as a wrong password.
        # Computed by the pool, first in its queue: argon2's buffer stays out of the main
        # thread's heap, and building the service does not block for a hash.
        self._dummy_hash: Future[str] = self._pool.submit(self._first_hash)

    def _first_hash(self) -> str:
        dummy = self._hasher.hash(secrets.token_urlsafe(16))
        if self._idle_trim_seconds > 0:
            self._release(self._buffer_bytes)
        return dummy

    async def aclose(self) -> None:
        """Stop the pool once the hashes under way are done; off the loop, which waits."""
        self._cancel_trim()
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown)

    async def hash(self, password: str) -> str:
        """Raises: HashingBusy."""
        return await self._run(self._hasher.hash, normalize_password(password))

    async def verify(self, password: str, stored_hash: str | None) -> Verdict:
        """Check a password; with no stored hash, burn the same time and fail.

        Raises: HashingBusy.
        """
        return await self._run(self._verify_blocking, normalize_password(password), stored_hash)

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        # Counted on the event loop, where nothing interleaves between the test and the
        # increment, so the bound holds under any concurrency.
        if self._in_flight >= self._capacity:
            raise HashingBusy
        self._in_flight += 1
        self._cancel_trim()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, work, *args)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0 and self._idle_trim_seconds > 0:
                self._trim_timer = loop.call_later(self._idle_trim_seconds, self._trim)

    def _cancel_trim(self) -> None:
        if self._trim_timer is not None:
            self._trim_timer.cancel()
            self._trim_timer = None

    def _trim(self) -> None:
        # Each thread's arena is its own, so each thread releases its own, in the pool (never
        # on the loop: it walks every arena). The barrier keeps one thread from taking two
        # of the releases while another takes none.
        self._trim_timer = None
        barrier = threading.Barrier(self.concurrency, timeout=RELEASE_BARRIER_SECONDS)
        for _ in range(self.concurrency):
            self._pool.submit(self._release_in_thread, barrier)

    def _release_in_thread(self, barrier: threading.Barrier) -> None:
        # Broken when a thread was busy with a hash: it releases anyway, the others next time.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        self._release(self._buffer_bytes)

    def _verify_blocking(self, password: str, stored_hash: str | None) -> Verdict:
        try:
            self._hasher.verify(stored_hash or self._dummy_hash.result(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verdict(ok=False)
        if stored_hash is None:
            return Verdict(ok=False)
        if self._hasher.check_needs_rehash(stored_hash):
            return Verdict(ok=True, new_hash=self._hasher.hash(password))
        return Verdict(ok=True)


@cache
def _common_passwords() -> Blocklist:
    """zxcvbn's 30,000 most common passwords from real breaches (blocklist.py)."""
    return load_common_passwords()


class PasswordPolicy:
    """SP 800-63B §5.1.1.2: length bounds and a blocklist, no composition rules."""

    def __init__(self, settings: Settings) -> None:
        self.min_length = settings.password_min_length
        self.max_length = settings.password_max_length

    def is_too_long(self, password: str) -> bool:
        """Cheap pre-check so an over-long password is refused before anything hashes it."""
        return len(normalize_password(password)) > self.max_length

    def check(self, password: str, *, username: str) -> None:
        """Raises: PasswordRejected naming the rule that failed."""
        normalized = normalize_password(password)
        length = len(normalized)
        if length < self.min_length:
            raise PasswordRejected(f"Password must be at least {self.min_length} characters")
        if length > self.max_length:
            raise PasswordRejected(f"Password must be at most {self.max_length} characters")
        lowered = normalized.casefold()
        if lowered in _common_passwords():
            raise PasswordRejected("Password is too common")
        if username and lowered == username.casefold():
            raise PasswordRejected("Password must not be the username")
        if len(set(normalized)) == 1:
            raise PasswordRejected("Password must not repeat a single character")

    @staticmethod
    def warm_up() -> None:
        """Load the blocklist now rather than on the first registration request."""
        _common_passwords()
