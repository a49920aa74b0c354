"""The query parameters every paged list takes: a bounded `limit` and an opaque `cursor`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from authsvc.services.cursors import CURSOR_MAX_LENGTH

PAGE_DEFAULT, PAGE_MAX = 50, 100

PageLimit = Annotated[int, Query(ge=1, le=PAGE_MAX)]
PageCursor = Annotated[
    str | None,
    Query(max_length=CURSOR_MAX_LENGTH, description="`next_cursor` of the previous page"),
]
