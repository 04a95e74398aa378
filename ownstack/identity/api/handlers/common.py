"""What identity handlers share: Keystone's query flags, the caller's default domain and the
request as an OAuth1 signer saw it."""

from __future__ import annotations

from urllib.parse import urlsplit

from ownstack.common.booleans import parse_bool
from ownstack.common.errors import BadRequest
from ownstack.identity.oauth1_signing import SignedRequest
from ownstack.identity.objects.domains import DEFAULT_DOMAIN_ID
from ownstack.identity.state import Req


def query_bool(req: Req, name: str) -> bool | None:
    """Keystone's flag parsing: ``?enabled``, ``?enabled=true``, ``?enabled=0``; None when
    the flag is absent. A bare flag (no value) means true."""
    if name not in req.query:
        return None
    raw = req.query[name]
    value = parse_bool(raw) if raw.strip() else True
    if value is None:
        raise BadRequest(f"Invalid value for query parameter {name!r}: {raw!r}.")
    return value


def token_domain_id(req: Req) -> str:
    """Keystone's default ``domain_id`` for a new entity: the token's domain (a domain
    scope, else the scoped project's domain), else the default domain."""
    return req.ctx.domain_id or req.ctx.project_domain_id or DEFAULT_DOMAIN_ID


def signed_request(req: Req) -> SignedRequest:
    """The request as its OAuth1 signer saw it: the URL the client used, with the scheme of
    the public endpoint (a TLS proxy in front changes it), as Keystone rebuilds it."""
    scheme = urlsplit(req.svc.public_url).scheme or req.request.url.scheme
    return SignedRequest(req.method, str(req.request.url.replace(scheme=scheme)),
                         dict(req.headers.items()))
