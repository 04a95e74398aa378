"""Identity error codes and Keystone's error body.

Keystone answers every error as ``{"error": {"code": 404, "title": "Not Found",
"message": "..."}}`` and adds ``WWW-Authenticate`` to a 401. Codes below are stable.
"""

from __future__ import annotations

from typing import Any

from ownstack.common.errors import BadRequest, Conflict, NotFound, OwnstackError, Unauthorized


def format_error(exc: OwnstackError, request_id: str, *, auth_uri: str = ""
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    body = {"error": {"code": exc.status, "title": exc.title, "message": exc.message}}
    headers: dict[str, str] = {}
    if exc.status == 401 and auth_uri:
        headers["WWW-Authenticate"] = f'Keystone uri="{auth_uri}"'
    return body, headers


class EntityNotFound(NotFound):
    code = "identity.not_found"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"Could not find {kind}: {ident}.")


class DuplicateEntity(Conflict):
    code = "identity.duplicate"

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"Conflict occurred attempting to store {kind} - {detail}.")


class TokenNotFound(NotFound):
    """A token that does not validate, with Keystone's messages: ``Failed to validate
    token`` for a revoked or expired one (or one whose user, project or roles are gone),
    ``Could not recognize Fernet token`` for one that does not decrypt."""

    code = "identity.token_not_found"

    def __init__(self, message: str = "Failed to validate token") -> None:
        super().__init__(message)


class AuthFailed(Unauthorized):
    """Password, token or credential did not authenticate. One message for all: no oracle."""

    code = "identity.auth_failed"

    def __init__(self, message: str = "The request you have made requires authentication."
                 ) -> None:
        super().__init__(message)


class AccountLocked(Unauthorized):
    code = "identity.account_locked"

    def __init__(self, user_id: str) -> None:
        super().__init__(f"The account is locked for user: {user_id}.")


class PasswordExpired(Unauthorized):
    code = "identity.password_expired"

    def __init__(self, user_id: str) -> None:
        super().__init__(
            f"The password is expired and needs to be changed for user: {user_id}.")


class OAuthNotFound(NotFound):
    """Keystone's OAuth1 backend's bare ``NotFound``: "Consumer not found", "Request token
    not found", "Access token not found"."""

    code = "identity.oauth1_not_found"

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind} not found")


class OAuthFailed(Unauthorized):
    """An OAuth1 signature, consumer, token or verifier that does not check out, with
    Keystone's words for each ("Invalid signature", "Request token is expired", ...)."""

    code = "identity.oauth1_failed"


class OAuthBadRequest(BadRequest):
    """A request the OAuth1 endpoints cannot read: no ``Authorization: OAuth`` header, a
    parameter missing, or oauthlib's own refusal (Keystone's ``ValidationError``)."""

    code = "identity.oauth1_bad_request"
