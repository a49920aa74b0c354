"""TotpService's removal rule, read from SecondFactors: a code removes TOTP only while another
kind of factor remains (a passkey here), never the last factor."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from authsvc.errors import CurrentPasswordRequired, InvalidMfaCode
from authsvc.events import ClientInfo
from authsvc.mfa.sealing import Sealer
from authsvc.mfa.totp import code_at
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.services.accounts import AccountService
from authsvc.services.passkeys import PasskeyFactor
from authsvc.services.second_factors import SecondFactors
from authsvc.services.totp import TotpFactor, TotpService
from authsvc.tokens import AccessClaims
from tests.support.fakes import InMemoryStore
from tests.support.mfa import STEP
from tests.support.records import make_session
from tests.support.services import memory_throttle
from tests.support.settings import FakeClock, make_settings
from tests.unit.services.test_sessions_in_memory import RecordingObserver
from tests.unit.store.test_passkeys import passkey

CLIENT = ClientInfo(ip="127.0.0.1", user_agent="test")


@dataclass
class Rig:
    service: TotpService
    store: InMemoryStore
    clock: FakeClock
    claims: AccessClaims

    async def enrol(self) -> str:
        """TOTP confirmed for the user; the secret."""
        enrolment = await self.service.setup(self.claims, None, CLIENT)
        code = code_at(enrolment.secret, self.clock.now)
        await self.service.confirm(self.claims, code, CLIENT)
        return enrolment.secret


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    settings = make_settings(tmp_path)
    clock, store = FakeClock(), InMemoryStore()
    passwords = PasswordService(settings)
    accounts = AccountService(
        store=store,
        passwords=passwords,
        policy=PasswordPolicy(settings),
        clock=clock,
        registration_enabled=True,
    )
    user = await store.create_user(username="alice", email=None, password_hash="h", now=clock())
    session = await store.create_session(make_session(user.id, at=clock()))
    service = TotpService(
        store=store,
        sealer=Sealer(os.urandom(32)),
        accounts=accounts,
        throttle=memory_throttle(settings),
        factors=SecondFactors(store, [TotpFactor(store), PasskeyFactor(store)]),
        issuer="authsvc",
        clock=clock,
        observer=RecordingObserver(),
    )
    claims = AccessClaims(
        user_id=user.id,
        username="alice",
        session_id=session.id,
        jti="j",
        issued_at=clock(),
        expires_at=clock(),
    )
    try:
        yield Rig(service, store, clock, claims)
    finally:
        await passwords.aclose()


async def test_a_code_alone_never_removes_the_last_factor(rig: Rig) -> None:
    secret = await rig.enrol()
    with pytest.raises(CurrentPasswordRequired):
        await rig.service.disable(
            rig.claims,
            code=code_at(secret, rig.clock.now + STEP),
            current_password=None,
            client=CLIENT,
        )
    assert (await rig.service.status(rig.claims)).totp_enabled


async def test_a_code_removes_totp_while_another_factor_remains(rig: Rig) -> None:
    secret = await rig.enrol()
    await rig.store.add_passkey(passkey(rig.claims.user_id))

    with pytest.raises(InvalidMfaCode):  # the code the enrolment used: already consumed
        await rig.service.disable(
            rig.claims, code=code_at(secret, rig.clock.now), current_password=None, client=CLIENT
        )
    await rig.service.disable(
        rig.claims,
        code=code_at(secret, rig.clock.now + STEP),
        current_password=None,
        client=CLIENT,
    )
    status = await rig.service.status(rig.claims)
    assert (status.totp_enabled, status.recovery_codes_left, status.methods) == (
        False,
        0,
        ("passkey",),
    )
