"""The login throttle's counting, on its in-process storage and on a real Redis, and how
client addresses are grouped before they are counted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from limits import parse
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from authsvc.errors import Throttled
from authsvc.throttle import LoginThrottle
from authsvc.throttle_keys import BucketKeys, throttle_address
from authsvc.throttle_memory import LocalStorage
from tests.support.settings import REDIS_URL

KEY = b"unit-test throttle key"
OWNER, ATTACKER = "198.51.100.1", "203.0.113.9"


@pytest.fixture(params=["memory", "redis"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    if request.param == "memory":
        yield LocalStorage()
        return
    client = Redis.from_url(REDIS_URL)
    shared = RedisStorage(
        "async+" + REDIS_URL,
        implementation="redispy",
        key_prefix=f"authsvc-test-{uuid.uuid4().hex[:12]}:throttle",
        wrap_exceptions=True,
        # As the app builds it (throttle.py): on the pool of a client that is closed after.
        connection_pool=client.connection_pool,  # type: ignore[arg-type]  # hint too narrow
    )
    try:
        yield shared
        await shared.reset()
    finally:
        await client.aclose()


def throttle(storage: Storage, *, per_ip: str = "100/minute", per_account: str = "100/minute",
             per_account_ip: str = "100/minute", proven_for: timedelta = timedelta(days=30),
             ) -> LoginThrottle:  # fmt: skip
    return LoginThrottle(
        storage,
        key=KEY,
        per_ip=per_ip,
        per_account_ip=per_account_ip,
        per_account=per_account,
        per_registration_ip="10/minute",
        proven_for=proven_for,
    )


async def remaining(storage: Storage, limit: str, bucket: str, account: str, ip: str) -> int:
    keys = BucketKeys(KEY, account, ip, ipv6_prefix=64)
    stats = await MovingWindowRateLimiter(storage).get_window_stats(
        parse(limit), "login", bucket, keys[bucket]
    )
    return stats.remaining


async def test_an_attempt_a_later_bucket_refuses_takes_no_slot_of_the_earlier_ones(
    storage: Storage,
) -> None:
    limits = throttle(storage, per_ip="2/minute", per_account="1/minute")
    await limits.reserve("alice", ATTACKER)  # fills alice's per-account bucket

    with pytest.raises(Throttled):
        await limits.reserve("alice", OWNER)

    assert await remaining(storage, "2/minute", "ip", "alice", OWNER) == 2
    assert await remaining(storage, "100/minute", "account_ip", "alice", OWNER) == 100


async def test_an_attempt_a_middle_bucket_refuses_takes_no_slot_of_the_first(
    storage: Storage,
) -> None:
    limits = throttle(storage, per_ip="3/minute", per_account_ip="1/minute")
    await limits.reserve("alice", OWNER)

    with pytest.raises(Throttled):
        await limits.reserve("alice", OWNER)

    assert await remaining(storage, "3/minute", "ip", "alice", OWNER) == 2


async def test_an_attempt_the_first_bucket_refuses_takes_no_slot_of_the_others(
    storage: Storage,
) -> None:
    limits = throttle(storage, per_ip="1/minute")
    await limits.reserve("bob", OWNER)  # the address's only slot

    with pytest.raises(Throttled) as refused:
        await limits.reserve("alice", OWNER)

    assert refused.value.retry_after >= 1
    assert await remaining(storage, "100/minute", "account_ip", "alice", OWNER) == 100
    assert await remaining(storage, "100/minute", "account", "alice", OWNER) == 100


async def test_concurrent_attempts_get_no_more_slots_than_the_limits(storage: Storage) -> None:
    limits = throttle(storage, per_account_ip="3/minute")

    outcomes = await asyncio.gather(
        *(limits.reserve("alice", OWNER) for _ in range(10)), return_exceptions=True
    )

    assert sum(not isinstance(outcome, Throttled) for outcome in outcomes) == 3


async def test_a_success_clears_the_address_failures_and_proves_it(storage: Storage) -> None:
    limits = throttle(storage, per_account_ip="2/minute", per_account="3/minute")
    await limits.reserve("alice", OWNER)
    await limits.succeeded(await limits.reserve("alice", OWNER))
    await limits.reserve("alice", ATTACKER)  # the account's third: its bucket is full
    with pytest.raises(Throttled):
        await limits.reserve("alice", ATTACKER)

    # Proven: past the full per-account bucket; cleared: both of its own slots free again.
    await limits.reserve("alice", OWNER)
    await limits.reserve("alice", OWNER)
    with pytest.raises(Throttled):
        await limits.reserve("alice", OWNER)


async def test_the_proof_lasts_from_the_latest_success(storage: Storage) -> None:
    limits = throttle(storage, proven_for=timedelta(seconds=100))
    mark = f"proven/{BucketKeys(KEY, 'alice', OWNER, ipv6_prefix=64)['proven']}"
    await limits.succeeded(await limits.reserve("alice", OWNER))
    first = await storage.get_expiry(mark)
    assert first > 0
    await asyncio.sleep(1.1)

    await limits.succeeded(await limits.reserve("alice", OWNER))

    assert await storage.get(mark) == 1
    assert await storage.get_expiry(mark) >= first + 1


@pytest.mark.parametrize(
    ("address", "prefix", "group"),
    [
        ("203.0.113.9", 64, "203.0.113.9"),
        ("::ffff:203.0.113.9", 64, "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2:3:4:5:6", 56, "2001:db8:1::/56"),
        ("2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6/128"),
        ("::1", 64, "::/64"),
        ("testclient", 64, "testclient"),
        (None, 64, "unknown"),
    ],
)
def test_addresses_are_grouped_by_subscriber(address: str | None, prefix: int, group: str) -> None:
    assert throttle_address(address, ipv6_prefix=prefix) == group
