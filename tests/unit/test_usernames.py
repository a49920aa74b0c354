"""Look-alike usernames (Unicode TR39): refused outright, or taken through their skeleton."""

from __future__ import annotations

import pytest

from authsvc.errors import InvalidUsername
from authsvc.usernames import check_new_username, normalize_username, username_skeleton


@pytest.mark.parametrize(
    "raw",
    [
        "\u0430lice",  # Cyrillic a among Latin letters
        "alice\u3164",  # invisible Hangul filler
        "\u1d00lice",  # Latin small capital A: outside the identifier profile
        "bob\u0661",  # Arabic-Indic digit one with Latin letters
        "\u0440\u0430\u0443\u0440\u0430l",  # Cyrillic "paypa" and a Latin l
        "tanaka\u592a\u90ce",  # Latin with Han
        "ab\u0663\u06f3",  # digits of two decimal systems
    ],
)
def test_mixed_script_invisible_and_foreign_digit_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidUsername, match="one script"):
        check_new_username(normalize_username(raw))


@pytest.mark.parametrize(
    "raw",
    [
        "alice",
        "\u0438\u0432\u0430\u043d",  # иван: one non-Latin script is fine
        "\u65e5\u672c\u8a9e",
        "\u5c71\u7530\u305f\u308d\u3046",  # Han with Hiragana: Japanese is one script
        "zo\u00eb",
        "bob_99",
        "carol+test@example.com",
        "dash-ed",
        "\u0645\u062d\u0645\u062f1",  # ASCII digits go with any script
    ],
)
def test_single_script_names_are_accepted(raw: str) -> None:
    check_new_username(normalize_username(raw))


@pytest.mark.parametrize(
    ("first", "look_alike"),
    [
        ("alice", "al\u0131ce"),  # dotless i
        ("bobl", "bob1"),
        ("lili", "1\u0131l\u0131"),
        ("rnary", "mary"),
    ],
)
def test_look_alikes_share_a_skeleton(first: str, look_alike: str) -> None:
    assert username_skeleton(normalize_username(first)) == username_skeleton(
        normalize_username(look_alike)
    )


def test_different_names_have_different_skeletons() -> None:
    assert username_skeleton("alice") != username_skeleton("alicia")
