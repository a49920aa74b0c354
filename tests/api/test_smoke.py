import httpx

from tests.support import LoggedIn


async def test_me(client: httpx.AsyncClient, alice: LoggedIn) -> None:
    response = await client.get("/auth/me", headers=alice.bearer)
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
