"""Domain errors shared by every service.

Every error a handler can raise is an :class:`OwnstackError` with an HTTP status and a
stable ``code``. One middleware (``ownstack.common.api.middleware``) turns it into the
error body of the service that raised it, so no handler maps exceptions by hand.

Codes are constants: never rename or reuse one, because logs and tests key on them.
"""

from __future__ import annotations

from http import HTTPStatus


class OwnstackError(Exception):
    """Base of every error that reaches a client as a 4xx or 5xx."""

    status: int = 500
    code: str = "ownstack.internal_error"
    message: str = "An unexpected error prevented the request from being fulfilled."

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.message)

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


class BadRequest(OwnstackError):
    status = 400
    code = "ownstack.bad_request"
    message = "The request could not be understood."


class ValidationFailed(BadRequest):
    code = "ownstack.validation_failed"
    message = "The request body or query did not validate."


class Unauthorized(OwnstackError):
    status = 401
    code = "ownstack.unauthorized"
    message = "The request you have made requires authentication."


class Forbidden(OwnstackError):
    status = 403
    code = "ownstack.forbidden"
    message = "You are not authorized to perform the requested action."


class PolicyNotAuthorized(Forbidden):
    code = "ownstack.policy_not_authorized"

    def __init__(self, rule: str) -> None:
        self.rule = rule
        super().__init__(f"You are not authorized to perform the requested action: {rule}.")


class NotFound(OwnstackError):
    status = 404
    code = "ownstack.not_found"
    message = "The resource could not be found."


class MethodNotAllowed(OwnstackError):
    status = 405
    code = "ownstack.method_not_allowed"
    message = "The method is not allowed for the requested URL."


class NotAcceptable(OwnstackError):
    status = 406
    code = "ownstack.not_acceptable"
    message = "The requested version or media type is not supported."


class Conflict(OwnstackError):
    status = 409
    code = "ownstack.conflict"
    message = "The request conflicts with the current state of the resource."


class ConcurrentUpdate(Conflict):
    """A compare-and-swap on a ``generation`` column lost a race."""

    code = "ownstack.concurrent_update"
    message = "Another request changed the resource at the same time; retry."


class PayloadTooLarge(OwnstackError):
    status = 413
    code = "ownstack.payload_too_large"
    message = "The request body is too large."


class UnsupportedMediaType(OwnstackError):
    status = 415
    code = "ownstack.unsupported_media_type"
    message = "The request media type is not supported."


class NotImplementedYet(OwnstackError):
    """A real API feature that ownstack does not implement: a clear 501, never a no-op."""

    status = 501
    code = "ownstack.not_implemented"
    message = "This feature is not implemented by ownstack."
