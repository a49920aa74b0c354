"""The user's sessions ("devices"): list them, page by page; sign one out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from authsvc.api import responses
from authsvc.api.cookies import no_store
from authsvc.api.paging import PageDep
from authsvc.api.schemas import SessionOut, SessionsOut
from authsvc.deps import ClientDep, CurrentClaimsDep, SessionsDep

router = APIRouter(prefix="/auth/sessions", tags=["sessions"], dependencies=[Depends(no_store)])


@router.get(
    "",
    responses=responses.SESSIONS_PAGE,
)
async def list_sessions(
    claims: CurrentClaimsDep, sessions: SessionsDep, paging: PageDep
) -> SessionsOut:
    """The current user's live sessions, most recently used first, a page at a time."""
    page = await sessions.list_sessions(claims, limit=paging.limit, cursor=paging.cursor)
    return SessionsOut(
        sessions=[SessionOut.from_record(s, current_id=claims.session_id) for s in page.sessions],
        next_cursor=page.next_cursor,
    )


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses.SESSION_END,
)
async def delete_session(
    session_id: Annotated[str, Path(max_length=64)],
    claims: CurrentClaimsDep,
    sessions: SessionsDep,
    client: ClientDep,
) -> None:
    """Sign one of the current user's sessions out; its tokens stop working at once."""
    await sessions.end_session(claims, session_id, client)
