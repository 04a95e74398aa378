"""Shared helpers of the compute API tests."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from conftest import ServiceClient, unique


def version(v: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {v}"}


async def make_flavor(compute: ServiceClient, v: str = "2.1", **fields: Any) -> dict[str, Any]:
    body = {"name": unique("m1"), "ram": 256, "vcpus": 1, "disk": 1, **fields}
    r = await compute.call("POST", "/v2.1/flavors", expect=200, headers=version(v),
                           json={"flavor": body})
    return dict(r.json()["flavor"])


def ssh_public_key(kind: str = "ed25519") -> str:
    key: Any
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif kind == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode()
