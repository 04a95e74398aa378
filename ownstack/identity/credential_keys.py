"""The credential keys: Fernet keys that encrypt credential blobs at rest (decision 66).

They are a key repository of their own, ``credential-keys/`` beside the token keys'
``fernet-keys/``, in the same layout (Keystone keeps ``/etc/keystone/credential-keys``
apart from its token keys too). A token key is rotated every few hours and thrown away
after ``max_active_keys`` rotations; a credential must stay readable for as long as it
exists, so its key must never be pruned by a token rotation.

Each encrypted blob is stored with ``key_hash``, the SHA-256 of the key that encrypted it,
so that a future rotation can tell which credentials still need the old key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ownstack.common.errors import OwnstackError
from ownstack.identity.tokens.keys import STAGED_INDEX, KeyRepository

# Keystone's fixed number for its credential repository: staged, primary, one secondary.
CREDENTIAL_MAX_ACTIVE_KEYS = 3
_READ_ATTEMPTS = 5


class CredentialEncryptionError(OwnstackError):
    """Keystone's ``CredentialEncryptionError``: a blob that the keys cannot read (the
    repository lost the key that wrote it). A 500: nothing the client can do about it."""

    code = "identity.credential_encryption"

    def __init__(self) -> None:
        super().__init__("Credential could not be decrypted. Please contact the "
                         "administrator")


class CredentialCipher:
    def __init__(self, path: Path) -> None:
        self.repository = KeyRepository(path, max_active_keys=CREDENTIAL_MAX_ACTIVE_KEYS)

    def setup(self) -> None:
        self.repository.setup()

    def encrypt(self, plaintext: str) -> tuple[str, str]:
        """The blob encrypted with the primary key, and that key's hash."""
        key = self._primary_key()
        token = Fernet(key).encrypt(plaintext.encode("utf-8")).decode("ascii")
        return token, hashlib.sha256(key).hexdigest()

    def decrypt(self, token: str) -> str:
        try:
            return self.repository.load().decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise CredentialEncryptionError() from None

    def _primary_key(self) -> bytes:
        """The primary key's bytes; a rotation may rename it between listing and reading,
        so the listing is taken again then."""
        for _ in range(_READ_ATTEMPTS):
            indexes = [i for i in self.repository.key_indexes() if i != STAGED_INDEX]
            if not indexes:
                break
            try:
                return (self.repository.path / str(max(indexes))).read_bytes().strip()
            except FileNotFoundError:
                continue
        raise RuntimeError(f"credential key repository {self.repository.path} has no "
                           "primary key; it is made at start-up")
