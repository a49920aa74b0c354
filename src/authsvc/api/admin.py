"""The administration API: accounts, their roles, status, password, second factors and
sessions; the audit log.

Every route needs an access token carrying the role `admin` (401 without a valid token, 403
without the role). Ids of a shape never issued in a path are answered 404, like unknown ones.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import AfterValidator

from authsvc.api import responses
from authsvc.api.admin_schemas import (
    AdminAuditEventOut,
    AdminAuditOut,
    AdminUserOut,
    AdminUsersOut,
    PasswordSetIn,
    SessionsEndedOut,
    UserCreateIn,
    UserPatchIn,
)
from authsvc.api.cookies import no_store
from authsvc.api.paging import PageCursor, PageLimit
from authsvc.deps import AdminClaimsDep, AdminDep, AuditDep, ClientDep
from authsvc.events import ClientInfo, EventKind
from authsvc.services.admin import Actor
from authsvc.services.cursors import CURSOR_MAX_LENGTH, is_user_id
from authsvc.tokens import AccessClaims

PAGE_DEFAULT, PAGE_MAX = 50, 100
QUERY_MAX_LENGTH = 320  # the longest e-mail address

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(no_store)])

UserId = Annotated[str, Path(max_length=64)]


def _user_id_shape(value: str | None) -> str | None:
    # A filter, not a resource: a malformed one is bad input (422), while a well-formed id
    # of a deleted account still finds that account's history.
    if value is not None and not is_user_id(value):
        raise ValueError("not a user id")
    return value


UserIdFilter = Annotated[
    str | None,
    Query(max_length=64, description="Only events about this account"),
    AfterValidator(_user_id_shape),
]


def _actor(claims: AccessClaims, client: ClientInfo) -> Actor:
    return Actor(user_id=claims.user_id, client=client)


@router.get("/users", responses=responses.ADMIN_PAGE)
async def list_users(
    _: AdminClaimsDep,
    admin: AdminDep,
    q: Annotated[
        str | None,
        Query(max_length=QUERY_MAX_LENGTH, description="Part of the username or e-mail address"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
    cursor: Annotated[
        str | None,
        Query(max_length=CURSOR_MAX_LENGTH, description="`next_cursor` of the previous page"),
    ] = None,
) -> AdminUsersOut:
    """Accounts by username, a page at a time, those matching `q` if given."""
    page = await admin.list_users(query=q, limit=limit, cursor=cursor)
    return AdminUsersOut(
        users=[AdminUserOut.from_user(u) for u in page.users], next_cursor=page.next_cursor
    )


@router.get("/users/{user_id}", responses=responses.ADMIN)
async def get_user(user_id: UserId, _: AdminClaimsDep, admin: AdminDep) -> AdminUserOut:
    """One account."""
    return AdminUserOut.from_user(await admin.get_user(user_id))


@router.post("/users", status_code=status.HTTP_201_CREATED, responses=responses.ADMIN_WRITE)
async def create_user(
    body: UserCreateIn, claims: AdminClaimsDep, admin: AdminDep, client: ClientDep
) -> AdminUserOut:
    """Create an account (the password policy applies), whatever REGISTRATION says."""
    user = await admin.create_user(
        _actor(claims, client),
        username=body.username,
        password=body.password,
        email=body.email,
        roles=tuple(body.roles),
    )
    return AdminUserOut.from_user(user)


@router.patch("/users/{user_id}", responses=responses.ADMIN_WRITE)
async def update_user(
    user_id: UserId, body: UserPatchIn, claims: AdminClaimsDep, admin: AdminDep, client: ClientDep
) -> AdminUserOut:
    """Change roles, disable or enable, change the e-mail address or its verification.

    Disabling ends every session of the account and its access tokens at once.
    """
    user = await admin.update_user(_actor(claims, client), user_id, body.changes())
    return AdminUserOut.from_user(user)


@router.post(
    "/users/{user_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses.ADMIN_WRITE,
)
async def set_password(
    user_id: UserId,
    body: PasswordSetIn,
    claims: AdminClaimsDep,
    admin: AdminDep,
    client: ClientDep,
) -> None:
    """Set the account's password; every session of it ends."""
    await admin.set_password(_actor(claims, client), user_id, body.new_password)


@router.delete("/users/{user_id}/sessions", responses=responses.ADMIN)
async def end_sessions(
    user_id: UserId, claims: AdminClaimsDep, admin: AdminDep, client: ClientDep
) -> SessionsEndedOut:
    """End every session of the account; its access tokens stop working at once."""
    return SessionsEndedOut(ended=await admin.end_sessions(_actor(claims, client), user_id))


@router.delete(
    "/users/{user_id}/mfa",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses.ADMIN_MFA_RESET,
)
async def reset_mfa(
    user_id: UserId, claims: AdminClaimsDep, admin: AdminDep, client: ClientDep
) -> None:
    """Remove every second factor of the account (TOTP and its recovery codes); its next
    login takes the password alone. No session ends."""
    await admin.reset_mfa(_actor(claims, client), user_id)


@router.delete(
    "/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses.ADMIN_WRITE
)
async def delete_user(
    user_id: UserId, claims: AdminClaimsDep, admin: AdminDep, client: ClientDep
) -> None:
    """Delete the account: its data is erased, its sessions end, its name is free again."""
    await admin.delete_user(_actor(claims, client), user_id)


@router.get("/audit", responses=responses.ADMIN_AUDIT_PAGE)
async def list_audit(
    _: AdminClaimsDep,
    audit: AuditDep,
    user_id: UserIdFilter = None,
    kind: Annotated[EventKind | None, Query(description="Only events of this kind")] = None,
    limit: PageLimit = PAGE_DEFAULT,
    cursor: PageCursor = None,
) -> AdminAuditOut:
    """Everyone's audit events, newest first, a page at a time; `actor_id` names the
    administrator for their actions. Pass the same filters with `cursor` as for the first page.
    """
    page = await audit.list_events(subject_id=user_id, kind=kind, limit=limit, cursor=cursor)
    return AdminAuditOut(
        events=[AdminAuditEventOut.from_record(event) for event in page.events],
        next_cursor=page.next_cursor,
    )
