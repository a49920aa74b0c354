"""Opaque page cursors for the sessions, users and activity lists, and the shape of ids.

A cursor is the sort key of the last item on a page, base64url-encoded: (last_used_at, id) of
a session, the id of an audit event. Clients pass it back untouched and never learn to build
one. Decoding is strict, so nothing a client makes up reaches the database in a form it might
refuse (a NUL byte, a bad date, an integer out of range).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

from authsvc.errors import InvalidCursor, InvalidUsername
from authsvc.store.records import SessionRecord
from authsvc.usernames import normalize_username

# Session ids are lower-case UUIDs (services/sessions.py); anything else names no session.
_SESSION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# An ISO 8601 UTC time with microseconds, as encode_cursor writes it, then a session id.
_CURSOR = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00) (" + _SESSION_ID.pattern + r")"
)
# "e" and an audit event's id, a positive signed 64-bit integer.
_EVENT_CURSOR = re.compile(r"e([1-9][0-9]{0,18})")
_EVENT_ID_MAX = 2**63 - 1
CURSOR_MAX_LENGTH = 128


def is_session_id(value: str) -> bool:
    return _SESSION_ID.fullmatch(value) is not None


def encode_cursor(session: SessionRecord) -> str:
    used = session.last_used_at.astimezone(UTC).isoformat(timespec="microseconds")
    return base64.urlsafe_b64encode(f"{used} {session.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (last_used_at, id) position a cursor names.

    Raises: InvalidCursor.
    """
    match = _CURSOR.fullmatch(_unwrap(cursor))
    if match is None:
        raise InvalidCursor
    try:
        used = datetime.fromisoformat(match.group(1))
    except ValueError:  # a well-formed but impossible date, such as month 13
        raise InvalidCursor from None
    return used, match.group(2)


def encode_event_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"e{event_id}".encode()).decode().rstrip("=")


def decode_event_cursor(cursor: str) -> int:
    """The id of the audit event a cursor names.

    Raises: InvalidCursor.
    """
    match = _EVENT_CURSOR.fullmatch(_unwrap(cursor))
    if match is None or int(match.group(1)) > _EVENT_ID_MAX:
        raise InvalidCursor
    return int(match.group(1))


def _unwrap(cursor: str) -> str:
    """The text inside a cursor. Raises: InvalidCursor."""
    if len(cursor) > CURSOR_MAX_LENGTH:
        raise InvalidCursor
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidCursor from None


def is_user_id(value: str) -> bool:
    """User ids are lower-case UUIDs as well (store/sql_users.py)."""
    return _SESSION_ID.fullmatch(value) is not None


def is_passkey_record_id(value: str) -> bool:
    """Passkey and WebAuthn challenge ids are lower-case UUIDs too (services/passkeys.py)."""
    return _SESSION_ID.fullmatch(value) is not None


def encode_user_cursor(username: str) -> str:
    """The username of the last account on a page: accounts are listed by username."""
    return base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")


def decode_user_cursor(cursor: str) -> str:
    """The username a cursor names; only a canonical username is one we handed out.

    Raises: InvalidCursor.
    """
    if len(cursor) > CURSOR_MAX_LENGTH:
        raise InvalidCursor
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name = raw.decode("utf-8")
        canonical = normalize_username(name)
    except (binascii.Error, ValueError, InvalidUsername):
        raise InvalidCursor from None
    # One spelling per cursor: base64 that decodes alike but is written otherwise is not ours.
    if canonical != name or encode_user_cursor(name) != cursor:
        raise InvalidCursor
    return name
