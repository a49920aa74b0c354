"""GET /.well-known/jwks.json: the public keys, cacheable; empty with HMAC."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from jose import jwt

from authsvc.keys import key_id
from authsvc.settings import Settings
from tests.support.http import Tokens
from tests.support.keys import private_key, private_key_pem, public_key_pem, write_public_keys
from tests.support.settings import make_settings

JWKS = "/.well-known/jwks.json"


@pytest.fixture(params=["HS256", "RS256", "ES256"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    algorithm: str = request.param
    if algorithm == "HS256":
        return make_settings(tmp_path, database_url=database_url)
    previous = write_public_keys(tmp_path / "previous.pem", public_key_pem(algorithm, 1))
    return make_settings(
        tmp_path,
        database_url=database_url,
        jwt_algorithm=algorithm,
        access_token_private_key=private_key_pem(algorithm),
        access_token_previous_public_keys_file=previous,
    )


async def test_jwks_lists_the_current_and_previous_keys(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get(JWKS)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    keys = response.json()["keys"]
    if settings.jwt_algorithm == "HS256":
        assert keys == []
        return
    algorithm = settings.jwt_algorithm
    assert [k["kid"] for k in keys] == [
        key_id(private_key(algorithm, i).public_key()) for i in (0, 1)
    ]
    assert all(k["alg"] == algorithm and k["use"] == "sig" for k in keys)
    assert not any({"d", "p", "q", "dp", "dq", "qi"} & set(k) for k in keys)


async def test_issued_tokens_verify_with_the_published_key(
    client: httpx.AsyncClient, alice: Tokens, settings: Settings
) -> None:
    me = await client.get("/auth/me", headers=alice.bearer)
    assert me.status_code == 200

    header = jwt.get_unverified_header(alice.access)
    assert header["alg"] == settings.jwt_algorithm
    if settings.jwt_algorithm == "HS256":
        return
    keys = {k["kid"]: k for k in (await client.get(JWKS)).json()["keys"]}
    claims = jwt.decode(
        alice.access,
        keys[header["kid"]],
        algorithms=[settings.jwt_algorithm],
        audience=settings.jwt_audience,
    )
    assert claims["username"] == "alice"
