"""The fastapi-users peer, as its documentation's SQLAlchemy example builds it: users in SQLite
through its SQLAlchemy adapter (aiosqlite), a JWT strategy (HS256, 10 minutes) behind a bearer
transport, the auth router at /auth/jwt and the users router at /users; one user seeded at
start-up.

Its password hasher is pwdlib's argon2id with authsvc's parameters rather than pwdlib's own
(which cost several times more), so that login compares the two services rather than their
hash settings. Runs in its own virtualenv (bench/peers/fastapi_users.txt) as
`python -m bench.peers.fastapi_users_app --port P`, with PEER_SECRET, PEER_DATABASE (a file),
PEER_USERNAME (an e-mail address), PEER_PASSWORD and PEER_ARGON2 ("time,memory KiB,lanes").
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.password import PasswordHelper
from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from bench.peers.serve import serve

ACCESS_TOKEN_SECONDS = 600


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


@dataclass(frozen=True, slots=True)
class PeerSettings:
    secret: str
    database: str
    email: str
    password: str
    argon2: tuple[int, int, int]  # time cost, memory in KiB, parallelism

    @classmethod
    def from_env(cls) -> PeerSettings:
        time_cost, memory, lanes = (int(part) for part in os.environ["PEER_ARGON2"].split(","))
        return cls(
            secret=os.environ["PEER_SECRET"],
            database=os.environ["PEER_DATABASE"],
            email=os.environ["PEER_USERNAME"],
            password=os.environ["PEER_PASSWORD"],
            argon2=(time_cost, memory, lanes),
        )


def create_app(settings: PeerSettings) -> FastAPI:
    engine = create_async_engine(f"sqlite+aiosqlite:///{settings.database}")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    time_cost, memory, lanes = settings.argon2
    passwords = PasswordHelper(
        PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory, parallelism=lanes),))
    )

    class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
        reset_password_token_secret = settings.secret
        verification_token_secret = settings.secret

    async def get_session() -> AsyncIterator[AsyncSession]:
        async with sessions() as session:
            yield session

    async def get_user_db(
        session: AsyncSession = Depends(get_session),  # noqa: B008 (FastAPI's idiom)
    ) -> AsyncIterator[SQLAlchemyUserDatabase[User, uuid.UUID]]:
        yield SQLAlchemyUserDatabase(session, User)

    async def get_user_manager(
        user_db: SQLAlchemyUserDatabase[User, uuid.UUID] = Depends(get_user_db),  # noqa: B008
    ) -> AsyncIterator[UserManager]:
        yield UserManager(user_db, passwords)

    backend = AuthenticationBackend(
        name="jwt",
        transport=BearerTransport(tokenUrl="auth/jwt/login"),
        get_strategy=lambda: JWTStrategy(settings.secret, ACCESS_TOKEN_SECONDS),
    )
    users = FastAPIUsers[User, uuid.UUID](get_user_manager, [backend])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with sessions() as session:
            await SQLAlchemyUserDatabase(session, User).create(
                {"email": settings.email, "hashed_password": passwords.hash(settings.password)}
            )
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(users.get_auth_router(backend), prefix="/auth/jwt")
    app.include_router(users.get_users_router(UserRead, UserUpdate), prefix="/users")

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


if __name__ == "__main__":
    serve(create_app(PeerSettings.from_env()))
