from helpers.inprocess import IdentityClient


async def test_admin_token_has_catalog_and_roles(identity: IdentityClient) -> None:
    r = await identity.call("GET", "/v3/auth/tokens", expect=200,
                            headers={"X-Subject-Token": identity.admin_token})
    token = r.json()["token"]
    assert {r["name"] for r in token["roles"]} == {"admin", "member", "reader"}
    assert token["project"]["name"] == "admin"
    assert [s["type"] for s in token["catalog"]] == ["block-storage", "compute", "identity",
                                                      "image", "network", "placement",
                                                      "volumev3"]
    assert r.headers["X-Openstack-Request-Id"].startswith("req-")
