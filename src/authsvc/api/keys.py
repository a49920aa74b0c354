"""The JWKS: public keys resource servers use to verify access tokens themselves."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from authsvc.deps import TokensDep

JWKS_PATH = "/.well-known/jwks.json"
# Short enough that a newly published key reaches every verifier well before it signs anything
# (see the README's key rotation runbook), long enough to spare the service a fetch per request.
JWKS_MAX_AGE_SECONDS = 300

router = APIRouter(tags=["keys"])


@router.get(JWKS_PATH, response_class=JSONResponse)
async def jwks(tokens: TokensDep) -> JSONResponse:
    """RFC 7517 JWK Set; empty when access tokens use an HMAC secret."""
    body: dict[str, Any] = tokens.public_jwks()
    return JSONResponse(body, headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_SECONDS}"})
