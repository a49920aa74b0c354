"""Password hashing (real argon2id) and the SP 800-63B policy."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import statistics
import threading
import time
import unicodedata
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type

from authsvc.errors import PasswordRejected
from authsvc.passwords import PasswordPolicy, PasswordService, _common_passwords
from authsvc.settings import Settings
from tests.support.http import PASSWORD
from tests.support.settings import make_settings

ENCODED = re.compile(
    r"^\$(?P<type>argon2(?:id|i|d))\$v=(?P<v>\d+)\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$"
    r"[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$"
)

# What PasswordService produces with the default settings.
CURRENT: dict[str, str | int] = {"type": "argon2id", "v": 19, "m": 19_456, "t": 2, "p": 1}


def parameters(encoded: str) -> dict[str, str | int]:
    match = ENCODED.match(encoded)
    assert match, f"not an encoded argon2 hash: {encoded!r}"
    return {
        "type": match["type"],
        "v": int(match["v"]),
        "m": int(match["m"]),
        "t": int(match["t"]),
        "p": int(match["p"]),
    }


def fullwidth(text: str) -> str:
    """The full-width form of printable ASCII, as East Asian keyboards type it."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) for c in text)


def korean_passphrase(syllables: int) -> str:
    """Varied Hangul syllables, precomposed (NFC): one code point each."""
    return "".join(chr(0xAC00 + (i * 389) % 11172) for i in range(syllables))


@pytest.fixture
def service(settings: Settings) -> PasswordService:
    return PasswordService(settings)


@pytest.fixture
def policy(settings: Settings) -> PasswordPolicy:
    return PasswordPolicy(settings)


# Hashing


async def test_hash_is_argon2id_at_least_at_the_owasp_floor(service: PasswordService) -> None:
    encoded = await service.hash(PASSWORD)

    params = parameters(encoded)
    assert params["type"] == "argon2id"
    assert params["v"] == 19
    assert int(params["m"]) >= 19_456
    assert int(params["t"]) >= 2
    assert int(params["p"]) >= 1
    assert PASSWORD not in encoded


async def test_hash_follows_configured_parameters(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, argon2_time_cost=3, argon2_memory_kib=20_480)
    encoded = await PasswordService(settings).hash(PASSWORD)
    assert parameters(encoded) == CURRENT | {"m": 20_480, "t": 3}


async def test_same_password_gets_a_fresh_salt(service: PasswordService) -> None:
    first, second = await service.hash(PASSWORD), await service.hash(PASSWORD)
    assert first != second
    assert (await service.verify(PASSWORD, first)).ok
    assert (await service.verify(PASSWORD, second)).ok


async def test_verify_right_and_wrong_password(service: PasswordService) -> None:
    encoded = await service.hash(PASSWORD)

    right = await service.verify(PASSWORD, encoded)
    assert right.ok
    assert right.new_hash is None

    for wrong in ("correct horse battery stapl", "Correct horse battery staple", "", PASSWORD * 2):
        verdict = await service.verify(wrong, encoded)
        assert not verdict.ok, wrong
        assert verdict.new_hash is None


async def test_verify_without_a_stored_hash_fails(service: PasswordService) -> None:
    verdict = await service.verify(PASSWORD, None)
    assert not verdict.ok
    assert verdict.new_hash is None


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not a hash",
        "$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB",
        "$2b$12$abcdefghijklmnopqrstuu9b7Q1kZ5i4o1hHn6B1m3H8Q3sCjzYu",  # bcrypt
        PASSWORD,  # a plaintext column must not verify against itself
    ],
)
async def test_verify_against_a_corrupt_stored_hash_fails(
    service: PasswordService, stored: str
) -> None:
    verdict = await service.verify(PASSWORD, stored)
    assert not verdict.ok


async def test_unknown_user_costs_about_as_much_as_a_wrong_password(
    service: PasswordService,
) -> None:
    encoded = await service.hash(PASSWORD)

    async def timed(stored: str | None) -> float:
        samples = []
        for _ in range(3):
            start = time.perf_counter()
            await service.verify("wrong password", stored)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    wrong_password, unknown_user = await timed(encoded), await timed(None)
    # A shortcut would be thousands of times faster; argon2 on both paths is within noise.
    assert unknown_user > wrong_password / 3


# Re-hash on login


@pytest.mark.parametrize(
    "old",
    [
        PasswordHasher(time_cost=3, memory_cost=19_456, parallelism=1, type=Type.ID),
        PasswordHasher(time_cost=2, memory_cost=24_576, parallelism=1, type=Type.ID),
        PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=2, type=Type.ID),
        PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, type=Type.I),
    ],
    ids=["t3", "m24576", "p2", "argon2i"],
)
async def test_outdated_hash_verifies_and_is_rehashed(
    service: PasswordService, old: PasswordHasher
) -> None:
    stored = old.hash(PASSWORD)

    verdict = await service.verify(PASSWORD, stored)

    assert verdict.ok
    assert verdict.new_hash is not None
    assert verdict.new_hash != stored
    assert parameters(verdict.new_hash) == {
        "type": "argon2id",
        "v": 19,
        "m": 19_456,
        "t": 2,
        "p": 1,
    }
    # The new hash is of the same password and needs no further upgrade.
    again = await service.verify(PASSWORD, verdict.new_hash)
    assert again.ok
    assert again.new_hash is None


async def test_outdated_hash_with_wrong_password_is_not_rehashed(
    service: PasswordService,
) -> None:
    stored = PasswordHasher(time_cost=3, memory_cost=19_456, parallelism=1).hash(PASSWORD)
    verdict = await service.verify("not the password", stored)
    assert not verdict.ok
    assert verdict.new_hash is None


# Unicode normalisation (SP 800-63B §5.1.1.2)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (fullwidth("password one 2"), "password one 2"),  # full-width forms
        ("ﬁsh and chips", "fish and chips"),  # ligature
        ("cafe\u0301 au lait", "caf\u00e9 au lait"),  # decomposed vs precomposed
        ("x² plus y²", "x2 plus y2"),  # superscripts
    ],
)
async def test_compatibility_forms_verify_against_the_plain_form(
    service: PasswordService, typed: str, stored: str
) -> None:
    assert typed != stored
    assert (await service.verify(typed, await service.hash(stored))).ok
    assert (await service.verify(stored, await service.hash(typed))).ok


async def test_rehash_keeps_the_normalised_password(service: PasswordService) -> None:
    typed = fullwidth("pass phrase")
    old = PasswordHasher(time_cost=3, memory_cost=19_456, parallelism=1)
    stored = old.hash(unicodedata.normalize("NFKC", typed))
    verdict = await service.verify(typed, stored)
    assert verdict.ok
    assert verdict.new_hash is not None
    assert (await service.verify("pass phrase", verdict.new_hash)).ok


# Off the event loop


async def ticks_while(operation: Awaitable[object]) -> tuple[int, float]:
    """How often a 1 ms ticker got to run on the event loop while `operation` was awaited."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)  # the ticker is running
    try:
        before = ticks
        start = time.perf_counter()
        await operation
        return ticks - before, time.perf_counter() - start
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("operation", ["hash", "verify", "verify-unknown-user", "rehash"])
async def test_argon2_work_does_not_block_the_event_loop(
    service: PasswordService, operation: str
) -> None:
    current = await service.hash(PASSWORD)
    outdated = PasswordHasher(time_cost=3, memory_cost=19_456, parallelism=1).hash(PASSWORD)
    work: dict[str, Callable[[], Awaitable[object]]] = {
        "hash": lambda: service.hash(PASSWORD),
        "verify": lambda: service.verify(PASSWORD, current),
        "verify-unknown-user": lambda: service.verify(PASSWORD, None),
        "rehash": lambda: service.verify(PASSWORD, outdated),
    }

    ticks, elapsed = await ticks_while(work[operation]())

    # argon2 at these settings takes tens of milliseconds; run on the event loop it would
    # leave the ticker no chance at all.
    assert elapsed > 0.01
    assert ticks > 5, f"{ticks} ticks in {elapsed * 1000:.0f} ms"


# Scheduling priority


def nice_of_new_threads(before: set[threading.Thread]) -> list[int]:
    return sorted(
        os.getpriority(os.PRIO_PROCESS, thread.native_id or 0)
        for thread in set(threading.enumerate()) - before
    )


@pytest.mark.parametrize("nice", [0, 7])
async def test_hashing_threads_run_hash_nice_below_the_event_loop(
    tmp_path: Path, nice: int
) -> None:
    loop_nice = os.getpriority(os.PRIO_PROCESS, 0)
    # Other tests' pools may still be around: only the threads this one starts count.
    before = set(threading.enumerate())
    service = PasswordService(make_settings(tmp_path, hash_concurrency=2, hash_nice=nice))
    try:
        # Two at once, so that the pool has started both of its threads.
        await asyncio.gather(service.hash(PASSWORD), service.hash(PASSWORD))
        assert nice_of_new_threads(before) == [min(19, loop_nice + nice)] * 2
        assert os.getpriority(os.PRIO_PROCESS, 0) == loop_nice
    finally:
        await service.aclose()


# Policy


def test_policy_limits_follow_settings(tmp_path: Path) -> None:
    policy = PasswordPolicy(make_settings(tmp_path, password_min_length=12, password_max_length=64))
    with pytest.raises(PasswordRejected, match="at least 12"):
        policy.check("elevenchars", username="bob")
    policy.check("twelve chars", username="bob")


@pytest.mark.parametrize("password", ["", "a", "short", "1234567", "seven77"])
def test_too_short(policy: PasswordPolicy, password: str) -> None:
    with pytest.raises(PasswordRejected, match="at least 8 characters"):
        policy.check(password, username="bob")


def test_length_is_counted_after_normalisation(policy: PasswordPolicy) -> None:
    # Seven code points that NFKC expands to more than eight characters.
    policy.check("ﬃﬃﬃﬃ", username="bob")  # "ffiffiffiffi" after NFKC
    with pytest.raises(PasswordRejected, match="at least 8"):
        policy.check("e\u0301" * 7, username="bob")  # 14 code points, 7 characters


def test_too_long(policy: PasswordPolicy) -> None:
    longest = "".join(chr(ord("a") + i % 26) for i in range(128))
    policy.check(longest, username="bob")
    with pytest.raises(PasswordRejected, match="at most 128 characters"):
        policy.check(longest + "x", username="bob")
    with pytest.raises(PasswordRejected, match="at most 128"):
        policy.check("correct horse " * 100, username="bob")


@pytest.mark.parametrize(
    "password",
    [
        "password",
        "qwerty123",
        "iloveyou",
        "12345678",
        "PASSWORD",
        "PassWord",
        fullwidth("password"),
    ],
)
def test_common_passwords(policy: PasswordPolicy, password: str) -> None:
    assert unicodedata.normalize("NFKC", password).casefold() in _common_passwords()
    with pytest.raises(PasswordRejected, match="too common"):
        policy.check(password, username="bob")


def test_six_digit_classic_is_refused(policy: PasswordPolicy) -> None:
    assert "123456" in _common_passwords()
    with pytest.raises(PasswordRejected):
        policy.check("123456", username="bob")


def test_blocklist_is_large() -> None:
    assert len(_common_passwords()) > 10_000


@pytest.mark.parametrize(
    ("password", "username"),
    [
        ("alice.smith", "alice.smith"),
        ("ALICE.SMITH", "alice.smith"),
        ("Alice.Smith", "alice.smith"),
        (fullwidth("alice.smith"), "alice.smith"),
    ],
)
def test_password_equal_to_username(policy: PasswordPolicy, password: str, username: str) -> None:
    assert "alice.smith" not in _common_passwords()
    with pytest.raises(PasswordRejected, match="username"):
        policy.check(password, username=username)


@pytest.mark.parametrize("password", ["zzzzzzzzzz", "          ", "ÄÄÄÄÄÄÄÄÄÄÄÄ", "9" * 40])
def test_single_repeated_character(policy: PasswordPolicy, password: str) -> None:
    with pytest.raises(PasswordRejected, match="single character"):
        policy.check(password, username="bob")


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "the quick brown fox jumps over the lazy dog",  # all lowercase: no composition rules
        "averylongpassphrasewithoutanydigitsorsymbols",
        "Ünïcödé pässphrâse wörks tóò",
        "日本語のパスフレーズです",
        "bob's password",  # contains the username, is not it
    ],
)
def test_good_passphrases_pass(policy: PasswordPolicy, password: str) -> None:
    policy.check(password, username="bob")


def test_rejection_message_never_contains_the_password(policy: PasswordPolicy) -> None:
    for password in ("s3cr3t!", "iloveyou", "alice.smith", "qqqqqqqqqq", "x" * 200):
        with pytest.raises(PasswordRejected) as caught:
            policy.check(password, username="alice.smith")
        assert password not in str(caught.value)
        assert str(caught.value)


def test_is_too_long(policy: PasswordPolicy) -> None:
    assert not policy.is_too_long("")
    assert not policy.is_too_long("x" * 128)
    assert policy.is_too_long("x" * 129)
    assert policy.is_too_long("x" * 1_000_000)


def test_is_too_long_agrees_with_check(policy: PasswordPolicy) -> None:
    # A Korean passphrase typed in decomposed form (as macOS file dialogs and some IMEs
    # produce it): 70 characters after NFKC, but about three times as many code points. The
    # policy accepts it at registration, so the login pre-check must not call it too long,
    # or the account can never log in.
    typed = unicodedata.normalize("NFD", korean_passphrase(70))
    assert len(typed) > 128
    assert len(unicodedata.normalize("NFKC", typed)) == 70

    policy.check(typed, username="bob")
    assert not policy.is_too_long(typed)
