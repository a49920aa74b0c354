"""`SqlStore`: the storage interface on SQLAlchemy 2 async, for SQLite and PostgreSQL.

The statements live beside their tables' concern (sql_users.py, sql_sessions.py, sql_login.py,
sql_rotation.py, sql_audit.py, sql_outbox.py, sql_email_tokens.py, sql_mfa.py, sql_passkeys.py);
the engine, SQLite's pragmas and the read and write connections in engine.py.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from authsvc.store.engine import Database
from authsvc.store.group_commit import open_group_commit
from authsvc.store.migrate import current_revision
from authsvc.store.sql_audit import SqlAuditStore
from authsvc.store.sql_email_tokens import SqlEmailTokenStore
from authsvc.store.sql_mfa import SqlMfaStore
from authsvc.store.sql_outbox import SqlOutboxStore
from authsvc.store.sql_passkeys import SqlPasskeyStore
from authsvc.store.sql_sessions import SqlSessionStore
from authsvc.store.sql_user_admin import SqlUserAdminStore
from authsvc.store.sql_users import SqlUserStore


class SqlStore(
    SqlUserStore,
    SqlUserAdminStore,
    SqlSessionStore,
    SqlAuditStore,
    SqlOutboxStore,
    SqlEmailTokenStore,
    SqlMfaStore,
    SqlPasskeyStore,
):
    """Users, sessions, the audit log, the mail outbox, e-mail tokens, second factors and
    passkeys over one engine; one method, one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        db = Database(engine)
        self._writer = open_group_commit(db)
        SqlUserStore.__init__(self, db)
        SqlUserAdminStore.__init__(self, db)
        SqlSessionStore.__init__(self, db, self._writer)
        SqlAuditStore.__init__(self, db, self._writer)
        SqlMfaStore.__init__(self, self._reads)

    async def ping(self) -> None:
        async with self._db.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def schema_revision(self) -> str | None:
        async with self._db.read() as conn:
            return await conn.run_sync(current_revision)

    async def close(self) -> None:
        await self.close_reads()
        if self._writer is not None:
            await self._writer.close()
        await self._db.engine.dispose()
