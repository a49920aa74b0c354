"""TOTP codes by time step, and recovery codes, as the services read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from authsvc.mfa import recovery, totp

AT = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)
STEP = timedelta(seconds=30)


def test_a_code_matches_its_step_within_one_step_of_skew() -> None:
    secret = totp.new_secret()
    now = totp.time_step(AT)
    assert totp.matching_step(secret, totp.code_at(secret, AT), at=AT) == now
    assert totp.matching_step(secret, totp.code_at(secret, AT - STEP), at=AT) == now - 1
    assert totp.matching_step(secret, totp.code_at(secret, AT + STEP), at=AT) == now + 1
    assert totp.matching_step(secret, totp.code_at(secret, AT - 2 * STEP), at=AT) is None
    assert totp.matching_step(secret, totp.code_at(secret, AT + 2 * STEP), at=AT) is None


def test_codes_are_what_an_authenticator_app_shows() -> None:
    secret = totp.new_secret()
    assert totp.code_at(secret, AT) == pyotp.TOTP(secret).at(AT)
    uri = totp.provisioning_uri(secret, account="alice", issuer="Example")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert (parsed.secret, parsed.issuer, parsed.name) == (secret, "Example", "alice")


@pytest.mark.parametrize(
    "code", ["", "12345", "1234567", "12a456", "\uff11\uff12\uff13\uff14\uff15\uff16", "-12345"]
)
def test_anything_but_six_digits_matches_nothing(code: str) -> None:
    assert totp.matching_step(totp.new_secret(), code, at=AT) is None


def test_spaces_inside_a_code_are_ignored() -> None:
    secret = totp.new_secret()
    code = totp.code_at(secret, AT)
    assert totp.matching_step(secret, f"{code[:3]} {code[3:]}", at=AT) == totp.time_step(AT)


def test_recovery_codes_are_ten_distinct_80_bit_codes() -> None:
    codes = recovery.new_codes()
    assert len(set(codes)) == recovery.COUNT == 10
    for code in codes:
        assert len(code) == 19 and code.count("-") == 3
        assert recovery.normalise(code) == code.replace("-", "")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("abcd-efgh-ijkl-mnop", "ABCDEFGHIJKLMNOP"),
        ("ABCD EFGH IJKL MNOP", "ABCDEFGHIJKLMNOP"),
        ("ABCDEFGHIJKLMNO", None),
        ("ABCD-EFGH-IJKL-MNO1", None),  # 1 is not base32
        ("123456", None),
    ],
)
def test_recovery_codes_are_read_as_people_type_them(typed: str, expected: str | None) -> None:
    assert recovery.normalise(typed) == expected


def test_the_stored_form_of_a_recovery_code_is_bound_to_its_account() -> None:
    assert recovery.code_hash("alice", "ABCD") != recovery.code_hash("bob", "ABCD")
    assert len(recovery.code_hash("alice", "ABCD")) == 64
