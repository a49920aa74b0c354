"""Role names: what a user may hold, and the one role the administration API asks for."""

from __future__ import annotations

import re
from collections.abc import Iterable

from authsvc.errors import InvalidRoles

ADMIN = "admin"
MAX_ROLES = 32
ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def is_role_name(name: str) -> bool:
    return ROLE_NAME.fullmatch(name) is not None


def checked_roles(names: Iterable[str]) -> tuple[str, ...]:
    """The roles as stored and put in tokens: a sorted set of valid names.

    Raises: InvalidRoles, naming the rule broken.
    """
    roles = tuple(sorted(set(names)))
    bad = [name for name in roles if not is_role_name(name)]
    if bad:
        # The pattern, not the name: a bad name may be anything a client sent.
        raise InvalidRoles(f"Role names must match {ROLE_NAME.pattern}")
    if len(roles) > MAX_ROLES:
        raise InvalidRoles(f"At most {MAX_ROLES} roles")
    return roles
