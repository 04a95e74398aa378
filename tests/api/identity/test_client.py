"""The token validator other services use, against the real identity app, in process."""

from __future__ import annotations

import httpx
import pytest

from helpers.inprocess import IdentityClient as Fixture
from ownstack.common.clients.identity import IdentityClient
from ownstack.common.errors import Unauthorized


async def test_validates_into_a_context_and_caches(identity: Fixture) -> None:
    client = IdentityClient("http://identity.test",
                            transport=httpx.ASGITransport(app=identity.app), cache_ttl=60)
    ctx = await client.context_for(identity.admin_token, "req-1")
    assert ctx.user_name == "admin" and ctx.project_name == "admin"
    assert set(ctx.roles) == {"admin", "member", "reader"}
    assert ctx.request_id == "req-1" and ctx.auth_token == identity.admin_token

    # Revoke it at the identity service: the cache keeps answering until its TTL.
    await identity.call("DELETE", "/v3/auth/tokens", expect=204,
                        headers={"X-Subject-Token": identity.admin_token})
    assert (await client.context_for(identity.admin_token, "req-2")).user_name == "admin"
    fresh = IdentityClient("http://identity.test",
                           transport=httpx.ASGITransport(app=identity.app), cache_ttl=0)
    with pytest.raises(Unauthorized):
        await fresh.context_for(identity.admin_token, "req-3")
    await client.aclose()
    await fresh.aclose()


async def test_garbage_token_is_unauthorized(identity: Fixture) -> None:
    client = IdentityClient("http://identity.test",
                            transport=httpx.ASGITransport(app=identity.app))
    with pytest.raises(Unauthorized):
        await client.context_for("garbage", "req-1")
    await client.aclose()
