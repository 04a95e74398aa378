"""Keypairs: imported (and x509 ones generated below 2.92), validated and fingerprinted
as Nova does, private to each user."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from helpers.compute import ssh_public_key, version
from helpers.inprocess import ServiceClient
from helpers.names import unique


def md5_fingerprint(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1]), usedforsecurity=False)
    return ":".join(f"{b:02x}" for b in digest.digest())


async def test_import_each_key_type(compute: ServiceClient) -> None:
    for kind in ("ed25519", "rsa", "ecdsa"):
        key = ssh_public_key(kind)
        name = unique(f"key-{kind}")
        r = await compute.call("POST", "/v2.1/os-keypairs", expect=201,
                               headers=version("2.10"),
                               json={"keypair": {"name": name, "public_key": key}})
        body = r.json()["keypair"]
        assert set(body) == {"name", "public_key", "fingerprint", "user_id", "type"}
        assert body["fingerprint"] == md5_fingerprint(key)
        assert body["type"] == "ssh" and body["public_key"] == key


async def test_fields_and_statuses_follow_the_microversion(compute: ServiceClient) -> None:
    name = unique("key")
    r = await compute.call("POST", "/v2.1/os-keypairs", expect=200, json={
        "keypair": {"name": name, "public_key": ssh_public_key()}})
    assert set(r.json()["keypair"]) == {"name", "public_key", "fingerprint", "user_id"}
    await compute.call("POST", "/v2.1/os-keypairs", expect=400, json={
        "keypair": {"name": unique("k"), "public_key": ssh_public_key(), "type": "ssh"}})
    listed = await compute.call("GET", "/v2.1/os-keypairs", expect=200)
    assert listed.json()["keypairs"][0]["keypair"].keys() == {
        "name", "public_key", "fingerprint"}
    listed = await compute.call("GET", "/v2.1/os-keypairs", expect=200, headers=version("2.2"))
    assert listed.json()["keypairs"][0]["keypair"]["type"] == "ssh"
    shown = await compute.call("GET", f"/v2.1/os-keypairs/{name}", expect=200)
    assert set(shown.json()["keypair"]) == {
        "name", "public_key", "fingerprint", "user_id", "id", "created_at", "updated_at",
        "deleted", "deleted_at"}
    shown = await compute.call("GET", f"/v2.1/os-keypairs/{name}", expect=200,
                               headers=version("2.2"))
    assert shown.json()["keypair"]["type"] == "ssh"
    await compute.call("DELETE", f"/v2.1/os-keypairs/{name}", expect=202)
    other = unique("key")
    await compute.call("POST", "/v2.1/os-keypairs", expect=201, headers=version("2.2"),
                       json={"keypair": {"name": other, "public_key": ssh_public_key()}})
    await compute.call("DELETE", f"/v2.1/os-keypairs/{other}", expect=204,
                       headers=version("2.2"))
    await compute.call("GET", f"/v2.1/os-keypairs/{other}", expect=404)


async def test_bad_keys_names_and_duplicates(compute: ServiceClient) -> None:
    bad_keys = ("not a key", "ssh-rsa AAAAnotbase64!!", "", ssh_public_key()[:40])
    for key in bad_keys:
        r = await compute.call("POST", "/v2.1/os-keypairs", expect=400, json={
            "keypair": {"name": unique("k"), "public_key": key}})
        assert r.json()["badRequest"]["message"].startswith("Keypair data is invalid")
    for name in ("bad/name", "dots.too", "x" * 256, ""):
        await compute.call("POST", "/v2.1/os-keypairs", expect=400, json={
            "keypair": {"name": name, "public_key": ssh_public_key()}})
    await compute.call("POST", "/v2.1/os-keypairs", expect=400, headers=version("2.92"),
                       json={"keypair": {"name": unique("k")}})       # a key is required
    await compute.call("POST", "/v2.1/os-keypairs", expect=400,
                       json={"keypair": {"name": "bad/name"}})        # checked before making one
    await compute.call("POST", "/v2.1/os-keypairs", expect=400, headers=version("2.2"), json={
        "keypair": {"name": unique("k"), "public_key": ssh_public_key(), "type": "pgp"}})
    await compute.call("POST", "/v2.1/os-keypairs", expect=400, headers=version("2.2"), json={
        "keypair": {"name": unique("k"), "public_key": ssh_public_key(), "type": "x509"}})
    name = unique("dup")
    body = {"keypair": {"name": name, "public_key": ssh_public_key()}}
    await compute.call("POST", "/v2.1/os-keypairs", expect=200, json=body)
    r = await compute.call("POST", "/v2.1/os-keypairs", expect=409, json=body)
    assert r.json()["conflictingRequest"]["message"] == f"Key pair '{name}' already exists."


async def test_users_never_see_each_others_keypairs(compute: ServiceClient) -> None:
    _, alice = await compute.project_user_token()
    _, bob = await compute.project_user_token()
    name = "shared-name"
    for token in (alice, bob):
        await compute.call("POST", "/v2.1/os-keypairs", token=token, expect=200, json={
            "keypair": {"name": name, "public_key": ssh_public_key()}})
    alice_key = (await compute.call("GET", f"/v2.1/os-keypairs/{name}", token=alice,
                                    expect=200)).json()["keypair"]
    bob_key = (await compute.call("GET", f"/v2.1/os-keypairs/{name}", token=bob,
                                  expect=200)).json()["keypair"]
    assert alice_key["public_key"] != bob_key["public_key"]
    listed = (await compute.call("GET", "/v2.1/os-keypairs", token=alice,
                                 expect=200)).json()["keypairs"]
    assert [k["keypair"]["public_key"] for k in listed] == [alice_key["public_key"]]
    # Naming another user takes an admin, from 2.10.
    r = await compute.call("GET", f"/v2.1/os-keypairs/{name}", token=alice, expect=403,
                           params={"user_id": bob_key["user_id"]}, headers=version("2.10"))
    assert r.json()["forbidden"]["code"] == 403
    await compute.call("DELETE", f"/v2.1/os-keypairs/{name}", token=alice, expect=403,
                       params={"user_id": bob_key["user_id"]}, headers=version("2.10"))
    await compute.call("DELETE", f"/v2.1/os-keypairs/{name}", token=alice, expect=202)
    await compute.call("GET", f"/v2.1/os-keypairs/{name}", token=bob, expect=200)


async def test_admin_manages_another_users_keys_from_210(compute: ServiceClient) -> None:
    _, token = await compute.project_user_token()
    mine = (await compute.call("POST", "/v2.1/os-keypairs", token=token, expect=200, json={
        "keypair": {"name": "k", "public_key": ssh_public_key()}})).json()["keypair"]
    user = mine["user_id"]
    r = await compute.call("POST", "/v2.1/os-keypairs", expect=201, headers=version("2.10"),
                           json={"keypair": {"name": "by-admin", "user_id": user,
                                             "public_key": ssh_public_key()}})
    assert r.json()["keypair"]["user_id"] == user
    listed = await compute.call("GET", "/v2.1/os-keypairs", token=token, expect=200)
    assert sorted(k["keypair"]["name"] for k in listed.json()["keypairs"]) == ["by-admin", "k"]
    await compute.call("GET", "/v2.1/os-keypairs/k", expect=404)
    await compute.call("GET", "/v2.1/os-keypairs/k", expect=200, params={"user_id": user},
                       headers=version("2.10"))
    await compute.call("DELETE", "/v2.1/os-keypairs/k", expect=204, params={"user_id": user},
                       headers=version("2.10"))


async def test_pages_from_235(compute: ServiceClient) -> None:
    for name in ("a", "b", "c"):
        await compute.call("POST", "/v2.1/os-keypairs", expect=200, json={
            "keypair": {"name": name, "public_key": ssh_public_key()}})
    r = await compute.call("GET", "/v2.1/os-keypairs", expect=200, params={"limit": "2"},
                           headers=version("2.35"))
    assert [k["keypair"]["name"] for k in r.json()["keypairs"]] == ["a", "b"]
    assert "marker=b" in r.json()["keypairs_links"][0]["href"]
    r = await compute.call("GET", "/v2.1/os-keypairs", expect=200,
                           params={"limit": "2", "marker": "b"}, headers=version("2.35"))
    assert [k["keypair"]["name"] for k in r.json()["keypairs"]] == ["c"]
    assert "keypairs_links" not in r.json()
    r = await compute.call("GET", "/v2.1/os-keypairs", expect=200, params={"limit": "2"},
                           headers=version("2.34"))
    assert len(r.json()["keypairs"]) == 3
    await compute.call("GET", "/v2.1/os-keypairs", expect=400, params={"marker": "zz"},
                       headers=version("2.35"))


@pytest.mark.parametrize("v", ["2.2", "2.10", "2.91"])
async def test_an_x509_keypair_is_generated_below_292(compute: ServiceClient, v: str) -> None:
    """Nova's WinRM certificate (nova/crypto.py): the answer carries the PKCS#12 bundle
    of key and certificate, base64, with no password; the certificate is the public key."""
    name = unique("winrm")
    r = await compute.call("POST", "/v2.1/os-keypairs", expect=201, headers=version(v),
                           json={"keypair": {"name": name, "type": "x509"}})
    made = r.json()["keypair"]
    assert set(made) == {"name", "public_key", "fingerprint", "user_id", "type",
                         "private_key"}
    assert made["type"] == "x509"
    key, cert, extra = pkcs12.load_key_and_certificates(
        base64.b64decode(made["private_key"]), None)
    assert extra == [] and cert is not None and isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert cert == x509.load_pem_x509_certificate(made["public_key"].encode())
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    user_id = made["user_id"]
    cn = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    assert cert.subject == cn and cert.issuer == cn
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=3650)
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    (upn,) = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert isinstance(upn, x509.OtherName)
    assert upn.type_id == ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
    assert upn.value == b"\x0c" + bytes([len(user_id) + 10]) + f"{user_id}@localhost".encode()
    digest = cert.fingerprint(hashes.SHA1()).hex()   # noqa: S303 - Nova's fingerprint
    assert made["fingerprint"] == ":".join(digest[i:i + 2] for i in range(0, 40, 2))
    # The private key is given once: never shown or listed again.
    shown = await compute.call("GET", f"/v2.1/os-keypairs/{name}", expect=200,
                               headers=version(v))
    assert "private_key" not in shown.json()["keypair"]
    assert shown.json()["keypair"]["public_key"] == made["public_key"]
    listed = await compute.call("GET", "/v2.1/os-keypairs", expect=200, headers=version(v))
    assert all("private_key" not in k["keypair"] for k in listed.json()["keypairs"])
    # A second certificate of the same name is a conflict, as any key's.
    await compute.call("POST", "/v2.1/os-keypairs", expect=409, headers=version(v),
                       json={"keypair": {"name": name, "type": "x509"}})


async def test_from_292_every_key_is_imported(compute: ServiceClient) -> None:
    r = await compute.call("POST", "/v2.1/os-keypairs", expect=400, headers=version("2.92"),
                           json={"keypair": {"name": unique("k"), "type": "x509"}})
    assert "public_key" in r.json()["badRequest"]["message"]
    for name in ("me@example.org", "dots.too"):
        await compute.call("POST", "/v2.1/os-keypairs", expect=400, headers=version("2.91"),
                           json={"keypair": {"name": name, "public_key": ssh_public_key()}})
        await compute.call("POST", "/v2.1/os-keypairs", expect=201, headers=version("2.92"),
                           json={"keypair": {"name": name, "public_key": ssh_public_key()}})
    # A bad name is refused before any certificate is made.
    await compute.call("POST", "/v2.1/os-keypairs", expect=400, headers=version("2.91"),
                       json={"keypair": {"name": "bad/name", "type": "x509"}})


async def test_below_2_92_a_create_without_a_key_gets_one_made(compute: ServiceClient) -> None:
    """Nova's generated SSH key pair: the private key once in the answer, never again; the
    public key is its own, and its fingerprint the MD5 of that key."""
    for headers, status in (({}, 200), (version("2.2"), 201)):
        name = unique("made")
        r = await compute.call("POST", "/v2.1/os-keypairs", expect=status, headers=headers,
                               json={"keypair": {"name": name}})
        made = r.json()["keypair"]
        assert made["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
        key = serialization.load_pem_private_key(made["private_key"].encode(), password=None)
        own = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                            serialization.PublicFormat.OpenSSH).decode()
        assert made["public_key"].split()[:2] == own.split()
        assert made["fingerprint"] == md5_fingerprint(own)
        shown = (await compute.call("GET", f"/v2.1/os-keypairs/{name}")).json()["keypair"]
        assert "private_key" not in shown and shown["public_key"] == made["public_key"]
