"""What the lean endpoints (lean_refresh.py, lean_login.py) share: the route they stand in for,
and a token answer built as FastAPI builds the route's."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import Response
from pydantic import BaseModel
from starlette.routing import BaseRoute

from authsvc.api.cookies import no_store


def post_route(routes: Iterable[BaseRoute], path: str) -> BaseRoute | None:
    """The route the router would match for a POST to `path`, for the metrics label."""
    return next(
        (
            route
            for route in routes
            if getattr(route, "path", None) == path
            and "POST" in (getattr(route, "methods", None) or ())
        ),
        None,
    )


async def route_answer(body: Callable[[Response], BaseModel]) -> Response:
    """A route's answer: `body` given the response the route's dependencies and code set
    headers on (the cookie, say) and returning the model the route returns.

    As FastAPI keeps them: those headers on a response without a body of its own (`no_store`'s
    among them, a dependency of every /auth route), then appended to the serialised model.
    """
    set_by_route = Response()
    del set_by_route.headers["content-length"]
    await no_store(set_by_route)
    model = body(set_by_route)
    response = Response(content=model.model_dump_json(), media_type="application/json")
    response.raw_headers.extend(set_by_route.raw_headers)
    return response
