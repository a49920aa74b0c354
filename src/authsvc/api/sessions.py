"""The user's sessions ("devices"): list them, sign one out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from authsvc.api.cookies import no_store
from authsvc.api.schemas import SessionOut
from authsvc.deps import CurrentClaims, Sessions

router = APIRouter(prefix="/auth/sessions", tags=["sessions"], dependencies=[Depends(no_store)])


@router.get("", responses={401: {"description": "Not authenticated"}})
async def list_sessions(claims: CurrentClaims, sessions: Sessions) -> list[SessionOut]:
    """The current user's live sessions, most recently used first."""
    records = await sessions.list_sessions(claims)
    return [SessionOut.from_record(s, current_id=claims.session_id) for s in records]


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={401: {"description": "Not authenticated"}, 404: {"description": "No such session"}},
)
async def delete_session(
    session_id: Annotated[str, Path(max_length=64)], claims: CurrentClaims, sessions: Sessions
) -> None:
    """Sign one of the current user's sessions out; its tokens stop working at once."""
    await sessions.end_session(claims, session_id)
