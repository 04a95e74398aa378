"""``X-Instance-ID-Signature``: how the network side's metadata agent proves to the metadata
service that it names the instance, as Neutron signs for Nova: the hex HMAC-SHA256 of the
instance id under the shared secret (``metadata.proxy_shared_secret``)."""

from __future__ import annotations

import hashlib
import hmac


def sign_instance_id(secret: str, instance_id: str) -> str:
    return hmac.new(secret.encode("utf-8"), instance_id.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def signature_matches(secret: str, instance_id: str, signature: str) -> bool:
    """In constant time, whether ``signature`` is ``instance_id``'s."""
    return hmac.compare_digest(sign_instance_id(secret, instance_id).encode("utf-8"),
                               signature.encode("utf-8"))
