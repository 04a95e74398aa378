"""OS-OAUTH1 as a real consumer speaks it: oauthlib's ``Client`` signs every request, in
the ``Authorization: OAuth ...`` header, for the URL the request goes to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
from oauthlib import oauth1

OAUTH = "/v3/OS-OAUTH1"


@dataclass(frozen=True)
class Consumer:
    id: str
    secret: str


def sign(base_url: str, path: str, consumer: Consumer, *, token: str | None = None,
         token_secret: str | None = None, verifier: str | None = None, callback: bool = False,
         signature_method: str = oauth1.SIGNATURE_HMAC_SHA1, method: str = "POST"
         ) -> dict[str, str]:
    """The headers of a request to ``path`` signed by ``consumer`` (and a token)."""
    client = oauth1.Client(consumer.id, client_secret=consumer.secret,
                           resource_owner_key=token, resource_owner_secret=token_secret,
                           verifier=verifier, callback_uri="oob" if callback else None,
                           signature_method=signature_method,
                           signature_type=oauth1.SIGNATURE_TYPE_AUTH_HEADER)
    _, headers, _ = client.sign(base_url.rstrip("/") + path, http_method=method)
    return dict(headers)


def base_url(http: httpx.AsyncClient) -> str:
    return str(http.base_url).rstrip("/")


def request_token_headers(base: str, consumer: Consumer, project_id: str) -> dict[str, str]:
    return {**sign(base, f"{OAUTH}/request_token", consumer, callback=True),
            "Requested-Project-Id": project_id}


def access_token_headers(base: str, consumer: Consumer, token: str, secret: str,
                         verifier: str) -> dict[str, str]:
    return sign(base, f"{OAUTH}/access_token", consumer, token=token, token_secret=secret,
                verifier=verifier)


def form(r: httpx.Response) -> dict[str, str]:
    """A form-encoded answer (``oauth_token=...&oauth_token_secret=...``)."""
    assert r.headers["content-type"].startswith("application/x-www-form-urlencoded"), r.text
    return dict(parse_qsl(r.text))


async def make_consumer(http: httpx.AsyncClient, admin_token: str,
                        description: str = "a consumer") -> Consumer:
    r = await http.post(f"{OAUTH}/consumers", headers={"X-Auth-Token": admin_token},
                        json={"consumer": {"description": description}})
    assert r.status_code == 201, r.text
    return Consumer(r.json()["consumer"]["id"], r.json()["consumer"]["secret"])


async def request_token(http: httpx.AsyncClient, consumer: Consumer, project_id: str
                        ) -> tuple[str, str]:
    """A new request token on the project: its id and secret."""
    r = await http.post(f"{OAUTH}/request_token",
                        headers=request_token_headers(base_url(http), consumer, project_id))
    assert r.status_code == 201, r.text
    answer = form(r)
    return answer["oauth_token"], answer["oauth_token_secret"]


async def authorize(http: httpx.AsyncClient, token_id: str, roles: list[dict[str, Any]],
                    auth_token: str) -> str:
    """The verifier of the request token, authorized by the owner of ``auth_token``."""
    r = await http.put(f"{OAUTH}/authorize/{token_id}", headers={"X-Auth-Token": auth_token},
                       json={"roles": roles})
    assert r.status_code == 200, r.text
    return str(r.json()["token"]["oauth_verifier"])


async def access_token(http: httpx.AsyncClient, consumer: Consumer, token_id: str,
                       secret: str, verifier: str) -> tuple[str, str]:
    r = await http.post(f"{OAUTH}/access_token", headers=access_token_headers(
        base_url(http), consumer, token_id, secret, verifier))
    assert r.status_code == 201, r.text
    answer = form(r)
    return answer["oauth_token"], answer["oauth_token_secret"]


async def delegate(http: httpx.AsyncClient, consumer: Consumer, project_id: str,
                   roles: list[dict[str, Any]], auth_token: str) -> tuple[str, str]:
    """The three legs: an access token of the owner of ``auth_token`` on the project, with
    ``roles``; its id and secret."""
    token_id, secret = await request_token(http, consumer, project_id)
    verifier = await authorize(http, token_id, roles, auth_token)
    return await access_token(http, consumer, token_id, secret, verifier)


async def oauth_token(http: httpx.AsyncClient, consumer: Consumer, token_id: str,
                      secret: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """``POST /v3/auth/tokens`` with the ``oauth1`` method, signed with the access token."""
    headers = sign(base_url(http), "/v3/auth/tokens", consumer, token=token_id,
                   token_secret=secret)
    return await http.post("/v3/auth/tokens", headers=headers, json=body or {
        "auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}})
