"""FastAPI dependencies: the only place that reads `app.state` and wires objects together.

Routers take the `Annotated` aliases below; tests replace any provider through
`app.dependency_overrides` (a fixed clock, say) instead of patching modules.

Every provider is a coroutine function although none of them waits: FastAPI runs a plain
function in the thread pool, and the dependency tree of one verify request would cost a dozen
thread hops, most of its CPU time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from authsvc.client_ip import ClientAddressResolver
from authsvc.clock import Clock
from authsvc.events import ClientInfo, Observer
from authsvc.metrics import Metrics
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.readiness import Probe
from authsvc.revocation import RevocationList
from authsvc.services.accounts import AccountService
from authsvc.services.authenticator import Authenticator
from authsvc.services.sessions import SessionService
from authsvc.settings import Settings
from authsvc.store import Store
from authsvc.throttle import LoginThrottle
from authsvc.tokens import AccessClaims, TokenService

USER_AGENT_MAX = 512


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_tokens(request: Request) -> TokenService:
    tokens: TokenService = request.app.state.tokens
    return tokens


async def get_passwords(request: Request) -> PasswordService:
    passwords: PasswordService = request.app.state.passwords
    return passwords


async def get_policy(request: Request) -> PasswordPolicy:
    policy: PasswordPolicy = request.app.state.policy
    return policy


async def get_revocations(request: Request) -> RevocationList:
    revocations: RevocationList = request.app.state.revocations
    return revocations


async def get_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.throttle
    return throttle


async def get_readiness_probes(request: Request) -> Mapping[str, Probe]:
    """The shared dependencies to probe besides the store (Redis, when configured)."""
    probes: Mapping[str, Probe] = request.app.state.readiness_probes
    return probes


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_metrics(request: Request) -> Metrics:
    """Only for routes that exist when metrics are enabled."""
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_observer(request: Request) -> Observer:
    """Every recipient of the app's security events, as one (observers/fan_out.py)."""
    observer: Observer = request.app.state.observer
    return observer


SettingsDep = Annotated[Settings, Depends(get_settings)]
ObserverDep = Annotated[Observer, Depends(get_observer)]
StoreDep = Annotated[Store, Depends(get_store)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ReadinessProbesDep = Annotated[Mapping[str, Probe], Depends(get_readiness_probes)]


async def get_accounts(
    store: StoreDep,
    settings: SettingsDep,
    clock: ClockDep,
    passwords: Annotated[PasswordService, Depends(get_passwords)],
    policy: Annotated[PasswordPolicy, Depends(get_policy)],
    throttle: Annotated[LoginThrottle, Depends(get_throttle)],
    observer: ObserverDep,
) -> AccountService:
    return AccountService(
        store=store,
        passwords=passwords,
        policy=policy,
        clock=clock,
        registration_enabled=settings.registration_enabled,
        throttle=throttle,
        observer=observer,
    )


Accounts = Annotated[AccountService, Depends(get_accounts)]


async def get_sessions(
    store: StoreDep,
    settings: SettingsDep,
    clock: ClockDep,
    accounts: Accounts,
    tokens: Annotated[TokenService, Depends(get_tokens)],
    revocations: Annotated[RevocationList, Depends(get_revocations)],
    throttle: Annotated[LoginThrottle, Depends(get_throttle)],
    observer: ObserverDep,
) -> SessionService:
    return SessionService(
        store=store,
        tokens=tokens,
        accounts=accounts,
        revocations=revocations,
        throttle=throttle,
        settings=settings,
        clock=clock,
        observer=observer,
    )


Sessions = Annotated[SessionService, Depends(get_sessions)]


async def get_client(request: Request) -> ClientInfo:
    resolver: ClientAddressResolver = request.app.state.client_addresses
    user_agent = request.headers.get("user-agent")
    return ClientInfo(
        ip=resolver.resolve(request),
        user_agent=user_agent[:USER_AGENT_MAX] if user_agent else None,
    )


Client = Annotated[ClientInfo, Depends(get_client)]

# Declares the Bearer scheme in the OpenAPI document; its password flow points the docs
# page's Authorize button at the form login route.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def get_authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


Auth = Annotated[Authenticator, Depends(get_authenticator)]


async def get_claims(
    authenticator: Auth, token: Annotated[str | None, Depends(bearer_scheme)]
) -> AccessClaims:
    """Raises: NotAuthenticated, InvalidToken, SessionEnded (all 401)."""
    return await authenticator.authenticate(token)


CurrentClaims = Annotated[AccessClaims, Depends(get_claims)]
