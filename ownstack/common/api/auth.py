"""How an API learns who is calling: the token validator boundary.

The identity service validates tokens itself, in process. Every other service gets a
validator that asks the identity API (in process or remote, through the same client) and
caches the answer. Both satisfy :class:`TokenValidator`.
"""

from __future__ import annotations

from typing import Protocol

from ownstack.common.context import RequestContext


class TokenValidator(Protocol):
    async def context_for(self, token: str, request_id: str) -> RequestContext:
        """The caller's context for ``token``.

        Raises ``ownstack.common.errors.Unauthorized`` when the token is invalid, expired
        or revoked.
        """
        ...
