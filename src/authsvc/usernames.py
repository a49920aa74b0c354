"""Usernames: the canonical form, the look-alike rules, and the confusable skeleton.

The look-alike rules follow Unicode TR39 (Security Mechanisms), through ICU's SpoofChecker:

- every character must be in TR39's General Security Profile for identifiers (the
  "recommended" set): no invisible fillers, no small capitals or other technical letters;
- a name is single-script (TR39 "single script restrictive": Japanese kana with Han count as
  one script); characters common to all scripts (ASCII digits, `. _ @ + -`) go with any;
- its digits come from one decimal system, and only ASCII digits go with another script;
- its skeleton (TR39 §4: `alice` with a dotless i and `alice` share `alice`, `bob1` and
  `bobl` share `bobl`) is unique among accounts, so a look-alike of an existing name is taken.

The rules apply when an account is created. Lookups use only the canonical form, so an
account created before the rules existed still logs in.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import TYPE_CHECKING

from authsvc.errors import InvalidUsername

if TYPE_CHECKING:
    import icu

USERNAME_MIN, USERNAME_MAX = 3, 64
# Letters and digits of any script, plus a few separators common in handles and e-mail-style
# names; no spaces, controls or symbols that only serve to build look-alikes.
_USERNAME_CHARS = re.compile(r"[\w.@+\-]+")
# Allowed by us but outside TR39's identifier profile; removed before the script checks.
_SEPARATORS = re.compile(r"[.@+\-]")


def normalize_username(raw: str) -> str:
    """The canonical form a username is stored and looked up by.

    NFKC folds compatibility forms (full-width letters, ligatures) and casefold makes the
    comparison case-insensitive, so "Alice", "ALICE" and its full-width form are one account.

    Raises: InvalidUsername.
    """
    name = unicodedata.normalize("NFKC", raw).casefold()
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        raise InvalidUsername(f"Username must be {USERNAME_MIN} to {USERNAME_MAX} characters long")
    if not _USERNAME_CHARS.fullmatch(name):
        raise InvalidUsername("Username may contain letters, digits and . _ @ + - only")
    return name


def check_new_username(name: str) -> None:
    """Refuse a canonical name that could pass for another one (see the module docstring).

    Raises: InvalidUsername.
    """
    if _spoof_checker().check(_SEPARATORS.sub("", name)):
        raise InvalidUsername(
            "Username must use one script, no invisible or look-alike characters, and digits "
            "of one kind"
        )


def username_skeleton(name: str) -> str:
    """TR39 skeleton of a canonical name: names that look alike share it."""
    # Case-folded again because some prototypes are capitals or small capitals.
    return str(_spoof_checker().getSkeleton(0, name)).casefold()


@cache
def _spoof_checker() -> icu.SpoofChecker:
    # Built on first use, not at import time; only read afterwards. ICU (about 10 MB resident)
    # is loaded here too: only registrations and renames check names, logins never do.
    import icu

    checker = icu.SpoofChecker()
    checker.setRestrictionLevel(icu.URestrictionLevel.SINGLE_SCRIPT_RESTRICTIVE)
    checker.setAllowedUnicodeSet(checker.getRecommendedUnicodeSet())
    checker.setChecks(
        icu.USpoofChecks.RESTRICTION_LEVEL
        | icu.USpoofChecks.INVISIBLE
        | icu.USpoofChecks.MIXED_NUMBERS
        | icu.USpoofChecks.CHAR_LIMIT
    )
    return checker
