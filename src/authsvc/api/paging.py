"""The query parameters every paged list takes: a bounded `limit` and an opaque `cursor`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from authsvc.services.cursors import CURSOR_MAX_LENGTH

PAGE_DEFAULT, PAGE_MAX = 50, 100

PageLimit = Annotated[int, Query(ge=1, le=PAGE_MAX)]
PageCursor = Annotated[
    str | None,
    Query(max_length=CURSOR_MAX_LENGTH, description="`next_cursor` of the previous page"),
]


@dataclass(frozen=True, slots=True)
class PageQuery:
    limit: int
    cursor: str | None  # None for the first page


def page_query(limit: PageLimit = PAGE_DEFAULT, cursor: PageCursor = None) -> PageQuery:
    return PageQuery(limit=limit, cursor=cursor)


# A route's `limit` and `cursor` query parameters, validated, as one value.
PageDep = Annotated[PageQuery, Depends(page_query)]
