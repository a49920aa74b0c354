"""The second-factor services of one app: TOTP enrolment and the two-step login with its
methods (a passkey among them), built over the core's store and the login's own session
service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from authsvc.mail.outbox import Mailer
from authsvc.mfa.sealing import Sealer
from authsvc.services.accounts import AccountService
from authsvc.services.mfa_methods import MfaMethod, RecoveryCodeMethod, TotpMethod
from authsvc.services.passkey_login import PasskeyFlows
from authsvc.services.passkey_step import PasskeyMethod, PasskeyStep
from authsvc.services.sessions import SessionService
from authsvc.services.totp import TotpService
from authsvc.services.two_step_login import TwoStepLogin
from authsvc.throttle import LoginThrottle

if TYPE_CHECKING:  # the container imports this module
    from authsvc.core import Core


@dataclass(frozen=True, slots=True)
class MfaServices:
    login: TwoStepLogin
    totp: TotpService
    passkey_step: PasskeyStep


def build_mfa(
    core: Core,
    *,
    sessions: SessionService,
    accounts: AccountService,
    throttle: LoginThrottle,
    mailer: Mailer | None,
    sealer: Sealer | None,
    passkeys: PasskeyFlows,
) -> MfaServices:
    """`sealer` None: TOTP is off (production without MFA_ENCRYPTION_KEY)."""
    factors = core.second_factors
    totp = TotpService(
        store=core.store,
        sealer=sealer,
        accounts=accounts,
        throttle=throttle,
        factors=factors,
        issuer=core.settings.totp_issuer,
        clock=core.clock,
        observer=core.observer,
    )
    # The methods the second step accepts, one entry each (services/mfa_methods.py).
    methods: list[MfaMethod] = [
        TotpMethod(totp),
        RecoveryCodeMethod(
            store=core.store, mailer=mailer, clock=core.clock, observer=core.observer
        ),
        PasskeyMethod(passkeys.assertions),
    ]
    login = TwoStepLogin(
        sessions=sessions,
        factors=factors,
        methods=methods,
        store=core.store,
        throttle=throttle,
        ttl=timedelta(seconds=core.settings.mfa_token_ttl_seconds),
        clock=core.clock,
        observer=core.observer,
    )
    step = PasskeyStep(login=login, passkeys=passkeys.manage, assertions=passkeys.assertions)
    return MfaServices(login=login, totp=totp, passkey_step=step)
