"""Sealed TOTP secrets: bound to their account, opened by the key that sealed them."""

from __future__ import annotations

import os

import pytest

from authsvc.mfa.sealing import Sealer, UnsealError, key_id

OLD, NEW, OTHER = os.urandom(32), os.urandom(32), os.urandom(32)


def test_a_sealed_value_opens_for_its_account_only() -> None:
    sealer = Sealer(NEW)
    sealed = sealer.seal(b"JBSWY3DPEHPK3PXP", user_id="alice")
    assert b"JBSWY3DPEHPK3PXP" not in sealed.encode()
    assert sealed.startswith(f"v1.{key_id(NEW)}.")
    assert sealer.open(sealed, user_id="alice") == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(UnsealError):
        sealer.open(sealed, user_id="bob")


def test_each_seal_uses_a_fresh_nonce() -> None:
    sealer = Sealer(NEW)
    assert sealer.seal(b"same", user_id="a") != sealer.seal(b"same", user_id="a")


def test_previous_keys_open_and_only_the_current_one_seals() -> None:
    old_value = Sealer(OLD).seal(b"secret", user_id="alice")
    rotated = Sealer(NEW, [OLD])
    assert rotated.open(old_value, user_id="alice") == b"secret"
    assert not rotated.is_current(old_value)
    moved = rotated.reseal(old_value, user_id="alice")
    assert rotated.is_current(moved)
    assert Sealer(NEW).open(moved, user_id="alice") == b"secret"
    with pytest.raises(UnsealError):
        Sealer(NEW).open(old_value, user_id="alice")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1],
        lambda s: "v2" + s[2:],
        lambda s: s.replace(".", "", 1),
        lambda s: s + "!!",
        lambda s: "",
    ],
)
def test_a_tampered_or_foreign_value_does_not_open(tamper: object) -> None:
    sealer = Sealer(NEW, [OTHER])
    sealed = sealer.seal(b"secret", user_id="alice")
    assert callable(tamper)
    with pytest.raises(UnsealError):
        sealer.open(tamper(sealed), user_id="alice")
