"""The user's own security activity: logins, failures, sign-outs, password changes."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from authsvc.api import responses
from authsvc.api.cookies import no_store
from authsvc.api.paging import PageDep
from authsvc.api.schemas import ActivityEventOut, ActivityOut
from authsvc.deps import AuditDep, CurrentClaimsDep

router = APIRouter(prefix="/auth/activity", tags=["sessions"], dependencies=[Depends(no_store)])


@router.get("", responses=responses.ACTIVITY_PAGE)
async def list_activity(claims: CurrentClaimsDep, audit: AuditDep, paging: PageDep) -> ActivityOut:
    """The current user's audit log, newest first, a page at a time."""
    page = await audit.list_events(
        subject_id=claims.user_id, limit=paging.limit, cursor=paging.cursor
    )
    return ActivityOut(
        events=[ActivityEventOut.from_record(event) for event in page.events],
        next_cursor=page.next_cursor,
    )
