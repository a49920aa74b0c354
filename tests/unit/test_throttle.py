"""Throttle keys: how client addresses are grouped before they are counted."""

from __future__ import annotations

import pytest

from authsvc.throttle import throttle_address


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
