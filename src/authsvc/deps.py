"""FastAPI dependencies: the only place that reads `app.state`, which holds one `Services`.

Routers take the `...Dep` aliases below, each one field of the container built at startup
(container.py), so no request builds a service. Tests replace `get_services` through
`app.dependency_overrides` (a container with another store, say) instead of patching modules.

Every provider is a coroutine function although none of them waits: FastAPI runs a plain
function in the thread pool, and the dependency tree of one verify request would cost a
thread hop per provider, most of its CPU time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from authsvc.clock import Clock
from authsvc.container import Services
from authsvc.events import ClientInfo, Observer
from authsvc.metrics import Metrics
from authsvc.readiness import Probe
from authsvc.roles import ADMIN
from authsvc.services.accounts import AccountService
from authsvc.services.admin import AdminService
from authsvc.services.audit import AuditService
from authsvc.services.authenticator import Authenticator
from authsvc.services.email_change import EmailChangeService
from authsvc.services.email_verification import EmailVerification
from authsvc.services.passkey_login import PasskeyLogin
from authsvc.services.passkey_step import PasskeyStep
from authsvc.services.passkeys import PasskeyService
from authsvc.services.password_change import PasswordChangeService
from authsvc.services.password_reset import PasswordReset
from authsvc.services.sessions import SessionService
from authsvc.services.totp import TotpService
from authsvc.services.two_step_login import TwoStepLogin
from authsvc.settings import Settings
from authsvc.store import Store
from authsvc.tokens import AccessClaims, TokenService

USER_AGENT_MAX = 512

T = TypeVar("T")


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _field(pick: Callable[[Services], T]) -> Any:  # what Depends() returns
    """A dependency on one part of the container, so a route names only what it uses."""

    async def provide(services: ServicesDep) -> T:
        return pick(services)

    return Depends(provide)


def _metrics(services: Services) -> Metrics:
    # Only routes that exist when metrics are enabled ask for them.
    if services.metrics is None:
        raise RuntimeError("metrics are switched off")
    return services.metrics


SettingsDep = Annotated[Settings, _field(lambda s: s.core.settings)]
ClockDep = Annotated[Clock, _field(lambda s: s.core.clock)]
StoreDep = Annotated[Store, _field(lambda s: s.core.store)]
TokensDep = Annotated[TokenService, _field(lambda s: s.tokens)]
AccountsDep = Annotated[AccountService, _field(lambda s: s.accounts)]
SessionsDep = Annotated[SessionService, _field(lambda s: s.sessions)]
LoginDep = Annotated[TwoStepLogin, _field(lambda s: s.login)]
TotpDep = Annotated[TotpService, _field(lambda s: s.totp)]
PasswordChangesDep = Annotated[PasswordChangeService, _field(lambda s: s.password_changes)]
EmailVerificationDep = Annotated[EmailVerification, _field(lambda s: s.email_verification)]
EmailChangeDep = Annotated[EmailChangeService, _field(lambda s: s.email_change)]
PasswordResetDep = Annotated[PasswordReset, _field(lambda s: s.password_reset)]
AdminDep = Annotated[AdminService, _field(lambda s: s.admin)]
AuthenticatorDep = Annotated[Authenticator, _field(lambda s: s.authenticator)]
AuditDep = Annotated[AuditService, _field(lambda s: s.audit)]
PasskeysDep = Annotated[PasskeyService, _field(lambda s: s.passkeys.manage)]
PasskeyLoginDep = Annotated[PasskeyLogin, _field(lambda s: s.passkeys.login)]
PasskeyStepDep = Annotated[PasskeyStep, _field(lambda s: s.passkey_step)]
ReadinessProbesDep = Annotated[Mapping[str, Probe], _field(lambda s: s.readiness_probes)]
MetricsDep = Annotated[Metrics, _field(_metrics)]
# Every recipient of the app's security events, as one (observers/fan_out.py).
ObserverDep = Annotated[Observer, _field(lambda s: s.observer)]


async def get_client(request: Request, services: ServicesDep) -> ClientInfo:
    user_agent = request.headers.get("user-agent")
    return ClientInfo(
        ip=services.client_addresses.resolve(request),
        user_agent=user_agent[:USER_AGENT_MAX] if user_agent else None,
    )


ClientDep = Annotated[ClientInfo, Depends(get_client)]

# Declares the Bearer scheme in the OpenAPI document; its password flow points the docs
# page's Authorize button at the form login route.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def get_claims(
    authenticator: AuthenticatorDep, token: Annotated[str | None, Depends(bearer_scheme)]
) -> AccessClaims:
    """Raises: NotAuthenticated, InvalidToken, SessionEnded (all 401)."""
    return await authenticator.authenticate(token)


CurrentClaimsDep = Annotated[AccessClaims, Depends(get_claims)]


async def get_admin_claims(
    authenticator: AuthenticatorDep, token: Annotated[str | None, Depends(bearer_scheme)]
) -> AccessClaims:
    """Raises: NotAuthenticated, InvalidToken, SessionEnded (401); RoleRequired (403)."""
    return await authenticator.authorize(token, roles=(ADMIN,))


AdminClaimsDep = Annotated[AccessClaims, Depends(get_admin_claims)]
