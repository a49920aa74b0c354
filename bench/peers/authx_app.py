"""The AuthX peer: a login issuing an access token and a protected GET route, as in AuthX's
own getting-started example (bearer tokens in the Authorization header, HS256).

Runs in its own virtualenv (bench/peers/authx.txt) as `python -m bench.peers.authx_app
--port P`, with PEER_SECRET, PEER_USERNAME and PEER_PASSWORD in the environment.
"""

from __future__ import annotations

import os

from authx import AuthX, AuthXConfig
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel

from bench.peers.serve import serve


class Credentials(BaseModel):
    username: str
    password: str


def create_app(secret: str, username: str, password: str) -> FastAPI:
    auth = AuthX(
        config=AuthXConfig(
            JWT_ALGORITHM="HS256",
            JWT_SECRET_KEY=secret,
            JWT_TOKEN_LOCATION=["headers"],
        )
    )
    app = FastAPI()
    auth.handle_errors(app)

    @app.post("/login")
    async def login(credentials: Credentials) -> dict[str, str]:
        if credentials.username != username or credentials.password != password:
            raise HTTPException(401, detail="Invalid credentials")
        return {"access_token": auth.create_access_token(uid=credentials.username)}

    @app.get("/protected", dependencies=[Depends(auth.access_token_required)])
    async def protected() -> dict[str, str]:
        return {"message": "Hello World"}

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


if __name__ == "__main__":
    serve(
        create_app(
            os.environ["PEER_SECRET"], os.environ["PEER_USERNAME"], os.environ["PEER_PASSWORD"]
        )
    )
