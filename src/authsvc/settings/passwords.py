"""Accounts and their passwords: registration, the length policy, and argon2id's cost."""

from __future__ import annotations

from pydantic import BaseModel, Field

# OWASP Password Storage Cheat Sheet: argon2id with m=19 MiB, t=2, p=1 is the floor.
ARGON2_MIN_MEMORY_KIB = 19 * 1024
ARGON2_MIN_TIME_COST = 2

# A password longer than this is refused by the request schema before any policy check.
PASSWORD_HARD_LIMIT = 1024


class PasswordSettings(BaseModel):
    registration_enabled: bool = True
    password_min_length: int = Field(default=8, ge=8, le=PASSWORD_HARD_LIMIT)
    password_max_length: int = Field(default=128, ge=64, le=PASSWORD_HARD_LIMIT)
    argon2_memory_kib: int = Field(default=ARGON2_MIN_MEMORY_KIB, ge=ARGON2_MIN_MEMORY_KIB)
    argon2_time_cost: int = Field(default=ARGON2_MIN_TIME_COST, ge=ARGON2_MIN_TIME_COST)
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    # Hashes computed at once; unset: the CPUs this process may use (affinity, cgroup quota).
    # Each one holds ARGON2_MEMORY_KIB of memory while it runs.
    hash_concurrency: int | None = Field(default=None, ge=1, le=64)
    # Password checks that may wait for a hashing thread; more are answered 503 at once.
    hash_queue_limit: int = Field(default=64, ge=1, le=10_000)
    # Niceness the hashing threads run at above the rest of the process (Linux), so that a
    # login flood does not slow the requests that need no hash; 0: the same as the rest.
    hash_nice: int = Field(default=10, ge=0, le=19)
    # Seconds without a password hash after which the hashing threads' freed argon2 buffers
    # are given back to the system (glibc only, elsewhere nothing happens); 0: never.
    hash_idle_trim_seconds: float = Field(default=2.0, ge=0, le=3600)
