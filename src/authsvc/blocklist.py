"""The common-password blocklist, held as a sorted array of 64-bit digests.

zxcvbn's 30,000 most common passwords from real breaches. Executing zxcvbn's module builds its
name and word lists too (about 14 MB of Python objects, and the fragmented heap they leave
behind); only the one line that holds the passwords is read here, and each password is kept
as an 8-byte BLAKE2b digest in a sorted array (240 KB) rather than a set of strings (about
3 MB). With 2^64 possible digests and 30,000 entries, a password that is not on the list
matches one by accident with a probability of about 10^-15.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path

# How zxcvbn's generated module spells the list: one line, a comma-joined string literal.
_PREFIX = '"passwords": '
_SUFFIX = '.split(","),'


def _digest(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


class Blocklist:
    """A set of words, casefolded by the caller, that answers `in` and `len` only."""

    __slots__ = ("_digests",)

    def __init__(self, words: Iterable[str]) -> None:
        self._digests = array("Q", sorted({_digest(word) for word in words}))

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        digest = _digest(word)
        index = bisect_left(self._digests, digest)
        return index < len(self._digests) and self._digests[index] == digest

    def __len__(self) -> int:
        return len(self._digests)


def load_common_passwords() -> Blocklist:
    """zxcvbn's password list, casefolded. Raises: RuntimeError when it cannot be read."""
    # Found, not imported: importing even the package runs zxcvbn's matchers, which build
    # every list.
    spec = importlib.util.find_spec("zxcvbn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("zxcvbn is not installed")
    path = Path(spec.submodule_search_locations[0]) / "frequency_lists.py"
    with path.open(encoding="utf-8") as source:
        for line in source:
            text = line.strip()
            if text.startswith(_PREFIX) and text.endswith(_SUFFIX):
                joined = ast.literal_eval(text[len(_PREFIX) : -len(_SUFFIX)])
                if isinstance(joined, str):
                    return Blocklist(word.casefold() for word in joined.split(","))
    raise RuntimeError(f"no password list in {path}: zxcvbn's format has changed")
