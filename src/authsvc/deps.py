"""FastAPI dependencies: the only place that reads `app.state` and wires objects together.

Routers take the `Annotated` aliases below; tests replace any provider through
`app.dependency_overrides` (a fixed clock, say) instead of patching modules.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from authsvc.client_ip import ClientAddressResolver
from authsvc.clock import Clock
from authsvc.metrics import Metrics
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.revocation import RevocationList
from authsvc.services.accounts import AccountService
from authsvc.services.observer import SessionObserver
from authsvc.services.sessions import ClientInfo, SessionService
from authsvc.settings import Settings
from authsvc.store import Store
from authsvc.throttle import LoginThrottle
from authsvc.tokens import AccessClaims, TokenService

USER_AGENT_MAX = 512


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_tokens(request: Request) -> TokenService:
    tokens: TokenService = request.app.state.tokens
    return tokens


def get_passwords(request: Request) -> PasswordService:
    passwords: PasswordService = request.app.state.passwords
    return passwords


def get_policy(request: Request) -> PasswordPolicy:
    policy: PasswordPolicy = request.app.state.policy
    return policy


def get_revocations(request: Request) -> RevocationList:
    revocations: RevocationList = request.app.state.revocations
    return revocations


def get_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.throttle
    return throttle


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_metrics(request: Request) -> Metrics:
    """Only for routes that exist when metrics are enabled."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_observer(request: Request) -> SessionObserver:
    observer: SessionObserver = request.app.state.observer
    return observer


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def get_accounts(
    store: StoreDep,
    settings: SettingsDep,
    clock: ClockDep,
    passwords: Annotated[PasswordService, Depends(get_passwords)],
    policy: Annotated[PasswordPolicy, Depends(get_policy)],
) -> AccountService:
    return AccountService(
        store=store,
        passwords=passwords,
        policy=policy,
        clock=clock,
        registration_enabled=settings.registration_enabled,
    )


Accounts = Annotated[AccountService, Depends(get_accounts)]


def get_sessions(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    clock: ClockDep,
    accounts: Accounts,
    tokens: Annotated[TokenService, Depends(get_tokens)],
    revocations: Annotated[RevocationList, Depends(get_revocations)],
    throttle: Annotated[LoginThrottle, Depends(get_throttle)],
) -> SessionService:
    return SessionService(
        store=store,
        tokens=tokens,
        accounts=accounts,
        revocations=revocations,
        throttle=throttle,
        settings=settings,
        clock=clock,
        # Read directly, not as a dependency: each plain provider costs this hot path a
        # thread-pool hop.
        observer=get_observer(request),
    )


Sessions = Annotated[SessionService, Depends(get_sessions)]


def get_client(request: Request) -> ClientInfo:
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


async def get_claims(
    sessions: Sessions, token: Annotated[str | None, Depends(bearer_scheme)]
) -> AccessClaims:
    """Raises: NotAuthenticated, InvalidToken, SessionEnded (all 401)."""
    return await sessions.authenticate(token)


CurrentClaims = Annotated[AccessClaims, Depends(get_claims)]
