"""Table definitions shared by the SQL store and the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    event,
    false,
    func,
    text,
)
from sqlalchemy.engine import Connection


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend keeps.

    SQLite stores datetimes as text without an offset and hands back naive values; everything
    authsvc writes is UTC, so naive values read back are UTC by construction.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"unexpected datetime value {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Stable constraint names keep migrations identical across SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    # TR39 skeleton of the username: two names that look alike share it, so the second is taken.
    Column("username_skeleton", String(256), nullable=True),
    Column("email", String(320), nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("password_changed_at", UTCDateTime(), nullable=False),
    # Space-separated, sorted role names; empty for none (see `UserRecord.roles`).
    Column("roles", String(1100), nullable=False, server_default=""),
    Column("disabled_at", UTCDateTime(), nullable=True),
    Column("email_verified_at", UTCDateTime(), nullable=True),
    # Set when the account was deleted: its personal data is gone, the row stays until the
    # purge has deleted its sessions (their revocations must outlive its access tokens).
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index("uq_users_username_skeleton", "username_skeleton", unique=True),
)
# The forgot-password request finds an account by address, case-insensitively: without this,
# every such request (unauthenticated, and cheap to send) would read the whole table.
Index("ix_users_email_lower", func.lower(users.c.email))

# Partial indexes carry their condition in `info` and get it, as `<dialect>_where`, for the
# dialect creating them only (`_where_for_dialect`), as migration 0003 creates them on both
# backends. Given as `sqlite_where=` and `postgresql_where=` keywords, the condition made
# SQLAlchemy import both dialects' modules to check the keywords, in every process importing
# this module: about 3 MiB of a SQLite worker's memory, 1 MiB of a PostgreSQL one's.
PARTIAL_WHERE = "authsvc_where"
REVOKED_ONLY = "revoked_at IS NOT NULL"
LIVE_ONLY = "revoked_at IS NULL"


def _partial(name: str, *columns: str, where: str) -> Index:
    return Index(name, *columns, info={PARTIAL_WHERE: where})


sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the refresh token's jti: a database leak yields no usable refresh token.
    Column("token_hash", String(64), nullable=False),
    Column("previous_token_hash", String(64), nullable=True),
    Column("rotated_at", UTCDateTime(), nullable=True),
    Column("generation", Integer, nullable=False, default=0),
    Column("user_agent", String(512), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime(), nullable=False),
    Column("idle_expires_at", UTCDateTime(), nullable=False),
    Column("absolute_expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("revoked_reason", String(32), nullable=True),
    # The authentication methods the session was opened with (amr.py).
    Column("amr", String(64), nullable=False, server_default="pwd"),
    Index("ix_sessions_user_id", "user_id"),
    # Revoked sessions only: the revocations reloaded at startup, and those the purge deletes.
    # Left out of it, live sessions are found through the partial indexes below.
    _partial("ix_sessions_revoked_at", "revoked_at", where=REVOKED_ONLY),
    # Partial indexes over sessions not revoked, which are few beside the ended rows kept for
    # the retention period: one user's live sessions in list order (listing, the per-user cap)
    # and every live session by expiry (the active-sessions gauge, the purge of expired ones).
    _partial("ix_sessions_live_by_user", "user_id", "last_used_at", "id", where=LIVE_ONLY),
    _partial(
        "ix_sessions_live_by_expiry",
        "idle_expires_at",
        "absolute_expires_at",
        # Always NULL here; listed so that SQLite counts from the index alone.
        "revoked_at",
        where=LIVE_ONLY,
    ),
)


@event.listens_for(sessions, "before_create")
def _where_for_dialect(table: Table, connection: Connection, **_: Any) -> None:
    for index in table.indexes:
        where = index.info.get(PARTIAL_WHERE)
        if where is not None:
            index.dialect_kwargs[f"{connection.dialect.name}_where"] = text(where)


# The persisted audit log (observers/audit_log.py). No foreign key to users: what happened to an
# account stays on record for the retention period even after the account is deleted.
audit_events = Table(
    "audit_events",
    metadata,
    # Increasing, so it orders the log and pages through it; SQLite autoincrements only an
    # INTEGER primary key.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("kind", String(64), nullable=False),
    # Who acted: the user themself for self-service, an administrator otherwise.
    Column("actor_id", String(36), nullable=True),
    # The account concerned.
    Column("subject_id", String(36), nullable=True),
    Column("session_id", String(36), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(256), nullable=True),
    # A small JSON object (reason, count): never a password, token, token id or username.
    Column("details", String(512), nullable=True),
    # One user's events, newest first (GET /auth/activity); everyone's come from the primary
    # key; the purge finds old rows by time.
    Index("ix_audit_events_subject_id", "subject_id", "id"),
    Index("ix_audit_events_occurred_at", "occurred_at"),
)

mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(998), nullable=False),
    # The bodies hold one-time links: the row is deleted once the mail is sent.
    Column("text_body", Text, nullable=False),
    Column("html_body", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    # A lease: the claim of a sender that died ends on its own.
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UTCDateTime(), nullable=True),
    # Short and free of secrets: the exception's class and the SMTP code.
    Column("last_error", String(200), nullable=True),
    Index("ix_mail_outbox_next_attempt_at", "next_attempt_at"),
)

email_tokens = Table(
    "email_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("email", String(320), nullable=False),
    # SHA-256 of the token: a database leak yields no usable link.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
    Index("ix_email_tokens_user_id", "user_id", "purpose"),
)

# One authenticator app per account (services/totp.py). The secret is sealed (mfa/sealing.py):
# a database leak yields no code generator.
totp_credentials = Table(
    "totp_credentials",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("sealed_secret", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # NULL until the first code proves the app holds the secret; only then does it count.
    Column("confirmed_at", UTCDateTime(), nullable=True),
    # The newest time step a code was accepted for: no code of it or before works again.
    Column("last_step", BigInteger, nullable=True),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # SHA-256 of the account id and the code (mfa/recovery.py).
    Column("code_hash", String(64), primary_key=True),
    Column("used_at", UTCDateTime(), nullable=True),
)

# The second login step: a password was right, a factor is still owed.
mfa_challenges = Table(
    "mfa_challenges",
    metadata,
    # SHA-256 of the mfa_token handed to the client.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the password hash the login checked: a change of password ends the challenge.
    Column("password_fingerprint", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("used_at", UTCDateTime(), nullable=True),
    Index("ix_mfa_challenges_expires_at", "expires_at"),
)

# Passkeys (WebAuthn credentials). Deleted with the account's data (sql_user_admin.py).
passkeys = Table(
    "passkeys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # base64url of the credential's raw id, which a discoverable login names it by.
    Column("credential_id", String(1400), nullable=False, unique=True),
    # The COSE_Key the authenticator gave at registration; public, but integrity matters.
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False, server_default="0"),
    # Space-separated transport hints (usb, nfc, ble, internal, hybrid) for excludeCredentials.
    Column("transports", String(200), nullable=False, server_default=""),
    Column("aaguid", String(36), nullable=False),
    Column("name", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime(), nullable=True),
    # Synced by a passkey provider (BS flag): it lives on more than one device.
    Column("backed_up", Boolean, nullable=False, server_default=false()),
    Index("ix_passkeys_user_id", "user_id"),
)

# Challenges of WebAuthn ceremonies: single-use, short-lived, in the database so that any
# replica can complete a ceremony another one began.
webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("purpose", String(16), nullable=False),
    # The account a registration or second-step challenge is for; NULL for a passkey login.
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    # SHA-256 of the challenge: a database leak yields no answerable challenge.
    Column("challenge_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
    Index("ix_webauthn_challenges_expires_at", "expires_at"),
)
