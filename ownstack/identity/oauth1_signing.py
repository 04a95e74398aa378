"""OAuth1 (RFC 5849) signature checks for OS-OAUTH1, done by oauthlib, as Keystone does.

Each check takes the signed request and what the database knows about the key and token
it names (loaded beforehand: oauthlib's validator is synchronous, the database is not), and
raises Keystone's error when the request does not check out. Only the HMAC signature
methods are accepted: a PLAINTEXT signature would send the secrets themselves, and
RSA keys are not something a consumer here has.

Unknown consumers and tokens are checked against dummy secrets, as oauthlib asks, so that
a failure takes as long whatever was wrong; the reason is then told in Keystone's words.
Each signed request is accepted once: the caller records its nonce
(:func:`ownstack.identity.objects.oauth1.use_nonce`) after the check.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from oauthlib import oauth1
from oauthlib.oauth1.rfc5849 import (
    SIGNATURE_HMAC_SHA1,
    SIGNATURE_HMAC_SHA256,
    SIGNATURE_HMAC_SHA512,
)
from oauthlib.oauth1.rfc5849 import errors as oauth_errors
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from ownstack.identity.errors import OAuthBadRequest, OAuthFailed
from ownstack.identity.objects.oauth1 import VERIFIER_CHARS, VERIFIER_LENGTH

if TYPE_CHECKING:
    from ownstack.identity.credential_keys import CredentialCipher
    from ownstack.identity.objects.models import (
        OAuthAccessToken,
        OAuthConsumer,
        OAuthRequestToken,
    )

# How far a request's oauth_timestamp may be from now, seconds (oauthlib's default); a
# nonce is remembered for as long as a timestamp may be off, both ways.
TIMESTAMP_LIFETIME = 600
NONCE_MEMORY = timedelta(seconds=2 * TIMESTAMP_LIFETIME)
_HEX = frozenset("0123456789abcdef")
_NONCE_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_MISSING_SUFFIX = (" The server could not comply with the request since it is either "
                   "malformed or otherwise incorrect. The client is assumed to be in error.")


def expecting(attribute: str) -> OAuthBadRequest:
    """Keystone's ``ValidationError(attribute=..., target='request')``."""
    return OAuthBadRequest(f"Expecting to find {attribute} in request.{_MISSING_SUFFIX}")


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers: the method, the URI (with its query) and the headers."""

    method: str
    uri: str
    headers: Mapping[str, str]

    def oauth_params(self) -> dict[str, str]:
        """The ``oauth_*`` parameters of the ``Authorization: OAuth ...`` header, decoded as
        the signature covers them (so ``%41`` and ``A`` are one nonce)."""
        header = next((value for name, value in self.headers.items()
                       if name.lower() == "authorization"), None)
        if not header:
            # Keystone answers a 500 here (OAuthHeadersMissingError); the request is the
            # client's mistake.
            raise OAuthBadRequest("No Authorization headers found, cannot proceed with OAuth "
                                  "related calls.")
        try:
            return {name: oauth_utils.unescape(value)
                    for name, value in oauth_utils.parse_authorization_header(header)}
        except (ValueError, TypeError):
            raise OAuthBadRequest("The Authorization header is not an OAuth one.") from None


@dataclass(frozen=True)
class KnownKey:
    """A consumer or token the request names, as stored: its secret, its consumer and (for
    a request token) the verifier it was authorized with."""

    id: str
    secret: str
    consumer_id: str = ""
    verifier: str | None = None


def known(keys: CredentialCipher,
          row: OAuthConsumer | OAuthRequestToken | OAuthAccessToken | None) -> KnownKey | None:
    """What a check needs of a stored consumer or token, its secret decrypted."""
    if row is None:
        return None
    return KnownKey(row.id, keys.decrypt(row.secret), getattr(row, "consumer_id", ""),
                    getattr(row, "verifier", None))


class _Validator(oauth1.RequestValidator):  # type: ignore[misc]
    """oauthlib's questions, answered from what was loaded for this one request."""

    def __init__(self, consumer: KnownKey | None, token: KnownKey | None) -> None:
        super().__init__()
        self.consumer = consumer
        self.token = token
        self.dummy = secrets.token_hex(16)

    # -- formats and policy

    @property
    def enforce_ssl(self) -> bool:
        return False        # TLS is the deployment's business, as in Keystone

    @property
    def allowed_signature_methods(self) -> tuple[str, ...]:
        return (SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, SIGNATURE_HMAC_SHA512)

    @property
    def timestamp_lifetime(self) -> int:
        return TIMESTAMP_LIFETIME

    @staticmethod
    def _is_key(key: str) -> bool:
        return len(key) == 32 and set(key) <= _HEX

    def check_client_key(self, client_key: str) -> bool:
        return self._is_key(client_key)

    def check_request_token(self, request_token: str) -> bool:
        return self._is_key(request_token)

    def check_access_token(self, request_token: str) -> bool:
        return self._is_key(request_token)

    def check_nonce(self, nonce: str) -> bool:
        return 0 < len(nonce) <= 64 and set(nonce) <= _NONCE_CHARS

    def check_verifier(self, verifier: str) -> bool:
        return len(verifier) == VERIFIER_LENGTH and all(c in VERIFIER_CHARS for c in verifier)

    @property
    def dummy_client(self) -> str:
        return "0" * 32

    @property
    def dummy_request_token(self) -> str:
        return "0" * 32

    @property
    def dummy_access_token(self) -> str:
        return "0" * 32

    # -- who is who

    def _consumer_is(self, client_key: str) -> bool:
        return self.consumer is not None and self.consumer.id == client_key

    def _token_is(self, client_key: str, token: str) -> bool:
        return self.token is not None and self.token.id == token \
            and self.token.consumer_id == client_key

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return self._consumer_is(client_key)

    def validate_request_token(self, client_key: str, token: str, request: Any) -> bool:
        return self._token_is(client_key, token)

    def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
        return self._token_is(client_key, token)

    def validate_verifier(self, client_key: str, token: str, verifier: str,
                          request: Any) -> bool:
        expected = self.token.verifier if self.token is not None else None
        return expected is not None and hmac.compare_digest(expected, verifier)

    def get_client_secret(self, client_key: str, request: Any) -> str:
        return self.consumer.secret if self.consumer is not None and \
            self._consumer_is(client_key) else self.dummy

    def get_request_token_secret(self, client_key: str, token: str, request: Any) -> str:
        if self.token is not None and self._token_is(client_key, token):
            return self.token.secret
        return self.dummy

    get_access_token_secret = get_request_token_secret

    # -- what ownstack does not use: out-of-band callbacks, no realms; nonces are recorded
    # -- by the caller in the database, tokens are made and saved there too

    def validate_timestamp_and_nonce(self, client_key: str, timestamp: str, nonce: str,
                                     request: Any, request_token: str | None = None,
                                     access_token: str | None = None) -> bool:
        return True

    def get_redirect_uri(self, token: str, request: Any) -> str:
        return "oob"

    def validate_redirect_uri(self, client_key: str, redirect_uri: str, request: Any) -> bool:
        return True

    def get_default_realms(self, client_key: str, request: Any) -> list[str]:
        return []

    def get_realms(self, token: str, request: Any) -> list[str]:
        return []

    def validate_requested_realms(self, client_key: str, realms: Any, request: Any) -> bool:
        return True

    def validate_realms(self, client_key: str, token: str, request: Any, uri: Any = None,
                        realms: Any = None) -> bool:
        return True

    def verify_realms(self, token: str, realms: Any, request: Any) -> bool:
        return True

    def verify_request_token(self, token: str, request: Any) -> bool:
        return True

    def invalidate_request_token(self, client_key: str, request_token: str,
                                 request: Any) -> None:
        pass        # the exchange deletes the request token

    def save_request_token(self, token: Any, request: Any) -> None:
        pass

    def save_access_token(self, token: Any, request: Any) -> None:
        pass

    def save_verifier(self, token: Any, verifier: Any, request: Any) -> None:
        pass


def _refusal(body: str | None) -> None:
    """Keystone's reading of oauthlib's answer: no body is a bad signature (401); a body
    with an error is oauthlib refusing the request's form (400)."""
    if not body:
        raise OAuthFailed("Invalid signature")
    params = dict(parse_qsl(body))
    if "error" in params:
        raise OAuthBadRequest(f"Validation failed with errors: {params['error']}, detail "
                              f"message is: {params.get('error_description', '')}.")


def _headers(signed: SignedRequest) -> dict[str, str]:
    return dict(signed.headers)


def check_request_token_request(signed: SignedRequest, consumer: KnownKey | None) -> None:
    """``POST /v3/OS-OAUTH1/request_token``: signed by the consumer alone."""
    endpoint = oauth1.RequestTokenEndpoint(_Validator(consumer, None))
    try:
        _, body, status = endpoint.create_request_token_response(
            signed.uri, http_method=signed.method, body=None, headers=_headers(signed))
    except (ValueError, TypeError, oauth_errors.OAuth1Error):
        raise OAuthBadRequest("The OAuth parameters could not be read.") from None
    if status != 200:
        _refusal(body)


def check_access_token_request(signed: SignedRequest, consumer: KnownKey | None,
                               request_token: KnownKey | None, *, client_key: str,
                               verifier: str) -> None:
    """``POST /v3/OS-OAUTH1/access_token``: signed by the consumer with the request token,
    and carrying the verifier the authorizing user got."""
    endpoint = oauth1.AccessTokenEndpoint(_Validator(consumer, request_token))
    try:
        _, body, status = endpoint.create_access_token_response(
            signed.uri, http_method=signed.method, body=None, headers=_headers(signed))
    except (ValueError, TypeError, oauth_errors.OAuth1Error):
        raise OAuthBadRequest("The OAuth parameters could not be read.") from None
    if status == 200:
        return
    if body:
        _refusal(body)
    # Keystone's reasons, in its order.
    if consumer is None:
        raise OAuthFailed("Provided consumer does not exist.")
    if request_token is None or request_token.consumer_id != client_key:
        raise OAuthFailed("Provided consumer key does not match stored consumer key.")
    if request_token.verifier is None or \
            not hmac.compare_digest(request_token.verifier, verifier):
        raise OAuthFailed("Provided verifier does not match stored verifier")
    raise OAuthFailed("Invalid signature")


def check_resource_request(signed: SignedRequest, consumer: KnownKey | None,
                           access_token: KnownKey | None) -> None:
    """``POST /v3/auth/tokens`` with the ``oauth1`` method: signed by the consumer with
    the access token."""
    endpoint = oauth1.ResourceEndpoint(_Validator(consumer, access_token))
    try:
        valid, _ = endpoint.validate_protected_resource_request(
            signed.uri, http_method=signed.method, body=None, headers=_headers(signed),
            realms=None)
    except (ValueError, TypeError, oauth_errors.OAuth1Error):
        valid = False
    if not valid:
        raise OAuthFailed("Could not validate the access token")
