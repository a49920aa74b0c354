"""RFC 8176 method lists: when a login counts as multi-factor, and how sessions store it."""

from __future__ import annotations

import pytest

from authsvc.amr import HWK, MFA, OTP, PWD, decode_amr, encode_amr, is_multi_factor, methods


def test_one_method_is_one_factor() -> None:
    assert methods(PWD) == (PWD,)
    assert not is_multi_factor(methods(PWD))


def test_two_methods_add_mfa_once_in_order() -> None:
    assert methods(PWD, OTP) == (PWD, OTP, MFA)
    assert methods(PWD, OTP, MFA) == (PWD, OTP, MFA)
    assert is_multi_factor(methods(PWD, OTP))


def test_the_same_method_twice_is_still_one_factor() -> None:
    assert methods(OTP, OTP) == (OTP,)


def test_one_method_may_stand_for_two_factors() -> None:
    # A passkey verified with user verification: something held and something known or is.
    assert methods(HWK, factors=2) == (HWK, MFA)
    assert methods(HWK, factors=1) == (HWK,)


@pytest.mark.parametrize("name", ["", "password", "PWD", "sms"])
def test_unknown_method_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="unknown authentication method"):
        methods(PWD, name)


def test_storage_round_trip_and_rows_from_before_amr() -> None:
    assert decode_amr(encode_amr((PWD, OTP, MFA))) == (PWD, OTP, MFA)
    assert decode_amr("") == (PWD,)
    assert decode_amr(None) == (PWD,)
