from helpers.inprocess import ImageClient


async def test_image_api_authenticates_through_identity(image: ImageClient) -> None:
    r = await image.http.get("/v2/images")
    assert r.status_code == 401
    assert r.json()["code"] == "401 Unauthorized"
